"""Tags: manual ones staff assign, computed ones a job derives from data.

A computed tag is a function registered with ``@computed_tag``: given a session and the moment of
evaluation it returns the ids of the members who carry the tag. The ``compute-tags`` job makes the
assignments match, adding and removing only the difference. Later capabilities (fuel history,
coupons) register their own (high-frequency diesel, night driver, frequent station …).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.unique import add_unique
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.members.errors import InvalidTag, TagCodeTaken, TagNotFound
from forecourt.members.models import Member, MemberTag, Tag

TAG_CODE = re.compile(r"[a-z][a-z0-9_]{1,47}")

Computation = Callable[[Session, datetime], set[uuid.UUID]]


@dataclass(frozen=True)
class ComputedTag:
    code: str
    name: str
    description: str
    compute: Computation


COMPUTED_TAGS: dict[str, ComputedTag] = {}


def computed_tag(code: str, name: str, description: str) -> Callable[[Computation], Computation]:
    def register(function: Computation) -> Computation:
        COMPUTED_TAGS[code] = ComputedTag(code, name, description, function)
        return function

    return register


@computed_tag("new_member", "新会员", "Joined in the last 30 days.")
def _new_members(session: Session, at: datetime) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(Member.id).where(
                Member.status == "active",
                Member.created_at > at - timedelta(days=30),
                Member.created_at <= at,
            )
        )
    )


@computed_tag("profile_complete", "资料完整", "Filled in every profile field.")
def _complete_profiles(session: Session, at: datetime) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(Member.id).where(
                Member.status == "active",
                Member.profile_completed_at.is_not(None),
                Member.profile_completed_at <= at,
            )
        )
    )


def get_tag(session: Session, code: str) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.code == code.strip().lower()))
    if tag is None:
        raise TagNotFound(tag=code)
    return tag


def list_tags(session: Session) -> Sequence[Tag]:
    return session.scalars(select(Tag).order_by(Tag.code)).all()


def create_tag(session: Session, actor: Actor, *, code: str, name: str, description: str = "") -> Tag:
    code = code.strip().lower()
    if not TAG_CODE.fullmatch(code):
        raise InvalidTag(
            "A tag code is 2–48 lower-case letters, digits and _, starting with a letter.", field="code"
        )
    if code in COMPUTED_TAGS:
        raise TagCodeTaken(code=code)
    if not name.strip():
        raise InvalidTag("A tag needs a name.", field="name")
    tag = Tag(
        id=new_id(),
        code=code,
        name=name.strip()[:100],
        kind="manual",
        description=description[:300],
        created_at=utcnow(),
    )
    add_unique(session, tag, TagCodeTaken(code=code))
    audit.record(session, actor, "tag.create", "tag", tag.id, after={"code": code, "name": tag.name})
    return tag


def assign(session: Session, actor: Actor, member: Member, code: str) -> Tag:
    tag = get_tag(session, code)
    if tag.kind != "manual":
        raise InvalidTag("Computed tags are assigned by the compute-tags job, not by hand.", tag=tag.code)
    if session.get(MemberTag, (member.id, tag.id)) is None:
        session.add(
            MemberTag(member_id=member.id, tag_id=tag.id, assigned_at=utcnow(), assigned_by=actor.label)
        )
        audit.record(session, actor, "member.tag_assign", "member", member.id, after={"tag": tag.code})
    return tag


def unassign(session: Session, actor: Actor, member: Member, code: str) -> None:
    tag = get_tag(session, code)
    if tag.kind != "manual":
        raise InvalidTag("Computed tags are assigned by the compute-tags job, not by hand.", tag=tag.code)
    link = session.get(MemberTag, (member.id, tag.id))
    if link is not None:
        session.delete(link)
        audit.record(session, actor, "member.tag_remove", "member", member.id, before={"tag": tag.code})


def ensure_computed_tags(session: Session) -> dict[str, Tag]:
    """The Tag row of every registered computed tag (created on first use)."""
    existing = {tag.code: tag for tag in session.scalars(select(Tag).where(Tag.code.in_(COMPUTED_TAGS)))}
    for code, spec in COMPUTED_TAGS.items():
        if code not in existing:
            tag = Tag(
                id=new_id(),
                code=code,
                name=spec.name,
                kind="computed",
                description=spec.description,
                created_at=utcnow(),
            )
            session.add(tag)
            existing[code] = tag
    session.flush()
    return existing


def refresh_computed_tag(session: Session, tag: Tag, at: datetime) -> tuple[int, int]:
    """Make the tag's assignments equal the computation; returns (added, removed)."""
    wanted = COMPUTED_TAGS[tag.code].compute(session, at)
    current = set(session.scalars(select(MemberTag.member_id).where(MemberTag.tag_id == tag.id)))
    added = wanted - current
    removed = current - wanted
    if removed:
        session.execute(delete(MemberTag).where(MemberTag.tag_id == tag.id, MemberTag.member_id.in_(removed)))
    session.add_all(
        MemberTag(member_id=member_id, tag_id=tag.id, assigned_at=at, assigned_by="compute-tags")
        for member_id in added
    )
    return len(added), len(removed)
