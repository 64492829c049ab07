"""Skills that agents have and cases require."""

from fastapi import APIRouter

from api.collections import collection
from api.deps import SessionDep, Writer
from api.schemas.catalog import SkillCreate, SkillRead
from api.services.catalog import people
from models.people import Skill

router = APIRouter(tags=["skills"])


@router.post("/skills", status_code=201, response_model=SkillRead)
async def create_skill(body: SkillCreate, db: SessionDep, _: Writer):
    """A skill agents have and cases require (routing picks an agent with all of them)."""
    return await people.create_skill(db=db, body=body)


collection(router, "skills", Skill, SkillRead, "skills")
