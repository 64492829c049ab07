"""HTML pages for people: login, the supervisor console and the customer portal.

Same permissions as the API: a page takes the bearer header or the `casework_token` cookie,
reads through the visibility filter, and acts through the very services the API calls
(`services.actions.run_action`, `services.intake.create`), so a form can do nothing the API
would refuse.
"""
