"""Opening a case on the portal, search first: the subject the customer typed brings up the
articles that match it ("this solved it" records a deflection and opens nothing; "not helpful"
is recorded too), then the form with product and asset pickers from their install base and the
three-level category. Server-rendered; while the subject is typed, our own suggest.js fetches
this page again and swaps in its articles (no inline script: see SECURITY_HEADERS)."""

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request, Response
from pydantic import ValidationError

from api.auth import Principal
from api.deps import ClientDep, PagePrincipal, SessionDep, SessionsDep, SettingsDep
from api.errors import Problem
from api.pages.base import back, first_error, need, page_router, render
from api.rate_limit import limit_portal_opening
from api.schemas.cases import CaseCreate
from api.services import install_base, intake, portal
from api.services.catalog import knowledge
from templates import ROOT as TEMPLATES
from workflows.vocabulary import CUSTOMERS, Channel

SUGGESTIONS = 5
SUGGEST_JS = (TEMPLATES / "pages" / "suggest.js").read_text(encoding="utf-8")
FORM_ERRORS = {
    "subject": "Please give a one-line subject of at most 300 characters.",
    "description": "The description may be at most 20,000 characters.",
}
Field = Annotated[str, Form(max_length=300)]
router = page_router()


def blank_form(subject: str = "", key: str = "") -> dict:
    # A fresh key per form: a double submit (or a resend after a time-out) opens one case.
    return {
        "subject": subject,
        "description": "",
        "key": key or str(uuid.uuid4()),
        "product": "",
        "asset": "",
        "issue_type": "",
        "symptom": "",
    }


async def new_case_page(
    request: Request, db, who: Principal, form: dict, error: str | None = None, status_code=200
) -> Response:
    context = {
        "title": "Open a case",
        "form": form,
        "error": error,
        "suggestions": await portal.suggestions(db, who, form["subject"], SUGGESTIONS),
        "assets": await install_base.assets(db, who),
        "issue_types": portal.ISSUE_TYPES,
    }
    products = {p.id: p for _, p in context["assets"]}
    context["products"] = sorted(products.values(), key=lambda p: p.name)
    return render(request, "portal_new.html", context, status_code)


@router.get("/portal/new")
async def new_case(
    request: Request,
    db: SessionDep,
    who: PagePrincipal,
    subject: Annotated[str, Query(max_length=300)] = "",
    key: Annotated[str, Query(max_length=200)] = "",
):
    """Step two of opening a case: what the subject finds in the knowledge base, and the form."""
    need(who, CUSTOMERS)
    return await new_case_page(request, db, who, blank_form(subject.strip(), key))


@router.get("/portal/suggest.js")
async def suggest_script():
    """The script that suggests articles while a new case's subject is typed, from the package."""
    return Response(SUGGEST_JS, media_type="text/javascript")


@router.post("/portal/cases", dependencies=[Depends(limit_portal_opening)])
async def portal_open_case(
    request: Request,
    db: SessionDep,
    sessions: SessionsDep,
    client: ClientDep,
    settings: SettingsDep,
    who: PagePrincipal,
    subject: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    key: Annotated[str, Form(max_length=200)] = "",
    product: Field = "",
    asset: Field = "",
    issue_type: Field = "",
    symptom: Field = "",
):
    need(who, CUSTOMERS)
    form = blank_form(subject, key) | {
        "description": description,
        "product": product,
        "asset": asset,
        "issue_type": issue_type,
        "symptom": symptom,
    }
    picked = await portal.check_pickers(
        db, who, product=product, asset=asset, issue_type=issue_type, symptom=symptom
    )
    if picked.error:
        return await new_case_page(request, db, who, form, picked.error, 422)
    try:
        body = CaseCreate(
            subject=subject,
            description=description if description.strip() else None,
            channel=Channel.PORTAL,
            product_id=picked.product_id,
            asset_id=picked.asset_id,
            category=picked.category,
        )
    except ValidationError as err:
        field = str(err.errors()[0].get("loc", ("",))[0])
        message = FORM_ERRORS.get(field, first_error(err))
        return await new_case_page(request, db, who, form, message, 422)
    try:
        opened = await intake.create(
            db=db,
            sessions=sessions,
            client=client,
            task_queue=settings.task_queue,
            who=who,
            body=body,
            idempotency_key=f"portal-form:{key}" if key else None,
        )
    except Problem as exc:
        if exc.status != 422:
            raise
        return await new_case_page(request, db, who, form, exc.detail, 422)
    return back(
        f"/portal/cases/{opened.case_id}",
        "ok",
        f"Case {opened.number} is open; we will be in touch.",
    )


@router.post("/portal/knowledge/{article_id}/solved")
async def solved(
    article_id: uuid.UUID,
    db: SessionDep,
    who: PagePrincipal,
    q: Field = "",
):
    """ "This solved it": a deflection (once a day per customer and article); no case opened."""
    need(who, CUSTOMERS)
    await knowledge.deflect(db=db, principal=who, article_id=article_id, query=q or None)
    return back("/portal", "ok", "Glad that solved it. No case was opened.")


@router.post("/portal/knowledge/{article_id}/not-helpful")
async def not_helpful(
    article_id: uuid.UUID,
    db: SessionDep,
    who: PagePrincipal,
    q: Field = "",
    key: Annotated[str, Form(max_length=200)] = "",
    step: Annotated[str, Form(max_length=20)] = "new",
):
    """ "Not helpful": recorded, and the customer goes on where they were."""
    need(who, CUSTOMERS)
    await knowledge.not_helpful(db=db, principal=who, article_id=article_id, query=q or None)
    if step == "search":
        url = "/portal?" + urlencode({"q": q})
    else:
        url = "/portal/new?" + urlencode({"subject": q, "key": key})
    return back(url, "ok", "Thank you: we will improve that article.")
