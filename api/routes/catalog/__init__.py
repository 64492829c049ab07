"""The catalog's routes, a module per resource (each resource's endpoints in one module)."""
