"""The review page's form: a request's fields in the groups of our paper form, with typed controls.

`intake.web.review.field_views` says what each field holds (value as the account may see it,
confidence, problems, where it was read); this module puts them in `intake.fieldgroups`' groups,
picks the control (a select for the request type and the agreement countries, yes/no radios, a
MM/DD/YYYY date), drops the fields the request's type does not ask for (unless they hold a value or
a problem: nothing read is hidden), and folds the empty optional fields away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake import fieldgroups
from intake.fieldgroups import FieldDef, Kind
from intake.reference import agreements
from intake.web.review import ADVISORY_CODES, FieldView


@dataclass(frozen=True)
class Control:
    """One field on the page: what it holds and how it is entered."""

    view: FieldView
    kind: Kind
    display: str  # the value in the control (dates MM/DD/YYYY)
    required: bool
    asked: bool  # False: the request's type does not ask for it, but something was read into it
    confirmed: bool = False  # a person said the value is right (a "confirmed" event after the last change)
    options: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        return self.view.path

    @property
    def doubtful(self) -> bool:
        """A value read with low confidence that nobody has confirmed or changed yet."""
        return self.view.low_confidence and not self.confirmed and bool(self.view.value)


@dataclass(frozen=True)
class GroupView:
    key: str
    title: str
    shown: list[Control] = field(default_factory=list)
    folded: list[Control] = field(default_factory=list)  # empty optional fields without a problem


@dataclass(frozen=True)
class ProblemLink:
    """A problem at the top of the form, linking to its field."""

    path: str
    label: str
    code: str
    message: str


def country_options(current: str) -> tuple[tuple[str, str], ...]:
    """The agreement countries by name (value its code); a value read that is none of them stays
    choosable, named as such, so that the select never silently changes what was read."""
    table = agreements().agreements
    out = [("", "Choose a country")]
    if current and current not in table:
        out.append((current, f"{current} (no agreement in force)"))
    out += sorted(((code, f"{a.name} ({code})") for code, a in table.items()), key=lambda o: o[1])
    return tuple(out)


def _options(kind: Kind, value: str) -> tuple[tuple[str, str], ...]:
    if kind == "request_type":
        known = dict(fieldgroups.REQUEST_TYPES)
        extra = ((value, f"{value} (not a request type)"),) if value and value not in known else ()
        return (("", "Not stated"), *fieldgroups.REQUEST_TYPES, *extra)
    if kind == "agreement_country":
        return country_options(value)
    if kind == "yesno":
        return (("true", "Yes"), ("false", "No"), ("", "Not answered"))
    return ()


def form_groups(views: list[FieldView], request_type: str | None, confirmed: set[str] | None = None) -> list[GroupView]:
    """The request's fields in their groups, for the page."""
    by_path = {v.path: v for v in views}
    dependents = len({p.split("]", 1)[0] for p in by_path if p.startswith("dependents[")})
    confirmed = confirmed or set()
    out = []
    for group in fieldgroups.groups_for(None, dependents):
        shown: list[Control] = []
        folded: list[Control] = []
        for fdef in group.fields:
            view = by_path.get(fdef.path)
            if view is None:
                continue
            asked = fieldgroups.asked_for(fdef, request_type)
            if not asked and not view.value and not view.problems:
                continue
            control = _control(view, fdef, asked, fdef.path in confirmed)
            if not view.value and not view.problems and not fdef.required:
                folded.append(control)
            else:
                shown.append(control)
        if shown or folded:
            out.append(GroupView(group.key, group.title, shown, folded))
    return out


def _control(view: FieldView, fdef: FieldDef, asked: bool, confirmed: bool) -> Control:
    return Control(view=view, kind=fdef.kind, display=fieldgroups.display(view.path, view.value),
                   required=fdef.required, asked=asked, confirmed=confirmed, options=_options(fdef.kind, view.value))


def problem_links(groups: list[GroupView]) -> list[ProblemLink]:
    """Every field problem in form order, blocking ones first: the list the form starts with."""
    links = [ProblemLink(c.path, fieldgroups.full_label(c.path), str(p.get("code") or ""), str(p.get("message") or ""))
             for g in groups for c in g.shown for p in c.view.problems]
    return sorted(links, key=lambda link: link.code in ADVISORY_CODES)


def confirmed_paths(events: list[object]) -> set[str]:
    """Fields a person confirmed (`confirmed` event) and nobody changed since."""
    out: set[str] = set()
    for e in events:
        kind, path = getattr(e, "kind", ""), getattr(e, "field", None)
        if not path or getattr(e, "request_id", None) is None:
            continue
        if kind == "confirmed":
            out.add(path)
        elif kind in ("field", "merge", "batch"):
            out.discard(path)
    return out
