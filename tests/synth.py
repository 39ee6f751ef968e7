"""Synthetic certificate requests: ground truth for every generated test document.

Every test document (mail, letter PDF, fillable form, fax, spreadsheet) is rendered from one of
these dicts, so a test can compare what the gateway read with what was written. Names and numbers
are generated, never real: SSNs are drawn from valid-looking ranges and EINs from assigned prefixes.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

FIRST = ["Jane", "Marcus", "Elena", "Tobias", "Priya", "Owen", "Lucia", "Henrik", "Maya", "Caleb",
         "Nora", "Felix", "Ingrid", "Rafael", "Tessa", "Julian", "Amara", "Dmitri", "Clara", "Victor"]
MIDDLE = ["Q", "Anne", "J", "Lee", "Marie", "R", "", "", "T", "Paul"]
LAST = ["Doe", "Harlow", "Brennan", "Okafor", "Lindqvist", "Castellano", "Whitfield", "Moreau",
        "Nakamura", "Petrov", "Sandoval", "Fairbanks", "Holloway", "Ivers", "Kessler", "Marsh"]
EMPLOYERS = ["Acme Widget Corporation", "Northwind Analytics Inc", "Blue Harbor Logistics LLC",
             "Summit Ridge Engineering Co", "Cedar Point Software Inc", "Granite Bay Consulting LLC"]
US_CITIES = [("Boise", "ID", "83702"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"),
             ("Portland", "OR", "97204"), ("Columbus", "OH", "43215"), ("Raleigh", "NC", "27601"),
             ("Madison", "WI", "53703"), ("Tucson", "AZ", "85701")]
STREETS = ["Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street", "Park Road"]
# (alpha-2, English name, a city there, postal code, a host-company suffix)
ABROAD = [("DE", "Germany", "Munich", "80802", "GmbH"), ("FR", "France", "Lyon", "69002", "SAS"),
          ("GB", "United Kingdom", "Leeds", "LS1 4AP", "Ltd"), ("JP", "Japan", "Osaka", "530-0001", "KK"),
          ("IT", "Italy", "Milan", "20121", "S.r.l."), ("NL", "Netherlands", "Utrecht", "3511 AB", "B.V."),
          ("ES", "Spain", "Valencia", "46002", "S.L."), ("AU", "Australia", "Perth", "6000", "Pty Ltd"),
          ("CH", "Switzerland", "Basel", "4051", "AG"), ("KR", "Korea", "Busan", "48058", "Co Ltd"),
          ("SE", "Sweden", "Malmo", "211 22", "AB"), ("PL", "Poland", "Krakow", "31-001", "Sp. z o.o."),
          ("BR", "Brazil", "Curitiba", "80010-000", "Ltda"), ("IE", "Ireland", "Cork", "T12 X70A", "Ltd")]
HOST_WORDS = ["Nordlicht", "Fenwick", "Solano", "Kirin", "Aurora", "Vektor", "Meridian", "Tallis"]
ADVERTISED = {"078-05-1120", "219-09-9999"}
EIN_PREFIXES = ["01", "02", "03", "04", "05", "06", "10", "11", "12", "13", "14", "15", "16", "20",
                "21", "22", "23", "24", "25", "26", "27", "30", "31", "32", "33", "34", "35", "36",
                "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "50", "51",
                "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64", "65",
                "66", "67", "68", "71", "72", "73", "74", "75", "76", "77", "80", "81", "82", "83",
                "84", "85", "86", "87", "88", "90", "91", "92", "93", "94", "95", "98", "99"]


def make_ssn(rng: random.Random) -> str:
    while True:
        area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
        ssn = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if ssn not in ADVERTISED:
            return ssn


def make_ein(rng: random.Random) -> str:
    return f"{rng.choice(EIN_PREFIXES)}-{rng.randint(0, 9999999):07d}"


def _phone(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def _us_address(rng: random.Random) -> dict[str, Any]:
    city, state, zip_code = rng.choice(US_CITIES)
    return {"street": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}", "city": city,
            "state": state, "postal_code": zip_code, "country": "US"}


def make_request(rng: random.Random, *, kind: str | None = None, country: str | None = None,
                 today: date = date(2026, 11, 25)) -> dict[str, Any]:
    """A complete, valid request as the canonical nested dict of domain.md."""
    kind = kind or rng.choice(["employee", "employee", "employee", "self_employed"])
    abroad = next(a for a in ABROAD if a[0] == country) if country else rng.choice(ABROAD)
    code, _name, city, postal, suffix = abroad
    first, last = rng.choice(FIRST), rng.choice(LAST)
    middle = rng.choice(MIDDLE) or None
    dob = date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
    start = today + timedelta(days=rng.randint(20, 300))
    end = start + timedelta(days=rng.randint(90, 4 * 365))
    home_city, home_state, _ = rng.choice(US_CITIES)
    worker: dict[str, Any] = {
        "first_name": first, "middle_name": middle, "last_name": last, "ssn": make_ssn(rng),
        "date_of_birth": dob.isoformat(), "place_of_birth": f"{home_city}, {home_state}",
        "citizenship": "US", "email": None, "phone": None, "address": None, "foreign_id": None,
        "residence_country": "US", "business": None,
    }
    email_user = f"{first}.{last}".lower()
    req: dict[str, Any] = {
        "request_type": kind, "worker": worker, "employer": None,
        "assignment": {
            "country": code, "start_date": start.isoformat(), "end_date": end.isoformat(),
            "host_name": None,
            "work_address": {"street": f"{rng.choice(HOST_WORDS)}strasse {rng.randint(1, 99)}"
                             if code == "DE" else f"{rng.randint(1, 99)} {rng.choice(HOST_WORDS)} Road",
                             "city": city, "state": None, "postal_code": postal, "country": code},
            "hired_in_us": None, "hire_date": None, "hire_place": None, "remains_employee": None,
        },
        "dependents": [],
        "confirmation_email": None,
    }
    if kind == "employee":
        employer = rng.choice(EMPLOYERS)
        domain = employer.split()[0].lower() + ".example.com"
        req["employer"] = {
            "name": employer, "ein": make_ein(rng), "address": _us_address(rng),
            "contact_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "contact_phone": _phone(rng),
            "contact_email": f"hr@{domain}", "irs_3121l_date": None,
        }
        req["assignment"].update({
            "host_name": f"{rng.choice(HOST_WORDS)} {suffix}", "hired_in_us": True,
            "remains_employee": True,
            "hire_date": (today - timedelta(days=rng.randint(200, 3000))).isoformat(),
            "hire_place": f"{req['employer']['address']['city']}, {req['employer']['address']['state']}",
        })
        req["confirmation_email"] = f"hr@{domain}" if rng.random() < 0.6 else None
    else:
        worker.update({"email": f"{email_user}@mail.example.org", "phone": _phone(rng),
                       "address": _us_address(rng),
                       "business": rng.choice(["software consulting", "architecture", "translation"])})
        req["confirmation_email"] = worker["email"] if rng.random() < 0.6 else None
    if rng.random() < 0.3:
        req["dependents"] = [{"name": f"{rng.choice(FIRST)} {last}",
                              "date_of_birth": date(rng.randint(2005, 2020), rng.randint(1, 12),
                                                    rng.randint(1, 28)).isoformat(),
                              "relationship": rng.choice(["child", "spouse"])}]
    return req


def flat(req: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted paths to string values (ISO dates, `true`/`false`), nulls left out."""
    out: dict[str, str] = {}
    for key, value in req.items():
        path = f"{prefix}{key}"
        if value is None:
            continue
        if isinstance(value, dict):
            out.update(flat(value, path + "."))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out.update(flat(item, f"{path}[{i}]."))
        elif isinstance(value, bool):
            out[path] = "true" if value else "false"
        else:
            out[path] = str(value)
    return out


def us_date(iso: str, rng: random.Random) -> str:
    """An ISO date written as a U.S. employer might write it."""
    d = date.fromisoformat(iso)
    return rng.choice([f"{d.month}/{d.day}/{d.year}", f"{d.month:02d}/{d.day:02d}/{d.year}",
                       d.strftime("%B %-d, %Y"), d.isoformat(), d.strftime("%b %-d, %Y")])


def address_line(addr: dict[str, Any]) -> str:
    if addr["country"] == "US":
        return f"{addr['street']}, {addr['city']}, {addr['state']} {addr['postal_code']}"
    return f"{addr['street']}, {addr['postal_code']} {addr['city']}"


def labelled_lines(req: dict[str, Any], rng: random.Random | None = None) -> list[str]:
    """The request as `Label: value` lines, in the order a clerk would type them."""
    rng = rng or random.Random(0)
    w, a, e = req["worker"], req["assignment"], req["employer"]
    from tests.synth import ABROAD as _abroad

    country_name = next(x[1] for x in _abroad if x[0] == a["country"])
    name = " ".join(p for p in (w["first_name"], w["middle_name"], w["last_name"]) if p)
    lines = [f"Request type: {'Employee' if req['request_type'] == 'employee' else 'Self-employed'}",
             f"Worker name: {name}", f"SSN: {w['ssn']}",
             f"Date of birth: {us_date(w['date_of_birth'], rng)}",
             f"Place of birth: {w['place_of_birth']}", "Citizenship: United States"]
    if e:
        lines += [f"Employer name: {e['name']}", f"EIN: {e['ein']}",
                  f"Employer address: {address_line(e['address'])}",
                  f"Contact person: {e['contact_name']}", f"Contact phone: {e['contact_phone']}",
                  f"Contact email: {e['contact_email']}"]
    else:
        lines += [f"Email: {w['email']}", f"Phone: {w['phone']}",
                  f"Home address: {address_line(w['address'])}", f"Nature of business: {w['business']}"]
    lines += [f"Country of assignment: {country_name}",
              f"Start date: {us_date(a['start_date'], rng)}", f"End date: {us_date(a['end_date'], rng)}"]
    if a["host_name"]:
        lines.append(f"Host company: {a['host_name']}")
    lines.append(f"Work address abroad: {address_line(a['work_address'])}, {country_name}")
    if e:
        lines += ["Hired in the U.S.: Yes", "Remains employee of U.S. employer: Yes"]
    for dep in req["dependents"]:
        lines.append(f"Dependent: {dep['name']}, {dep['relationship']}, born {dep['date_of_birth']}")
    if req["confirmation_email"]:
        lines.append(f"Send confirmation to: {req['confirmation_email']}")
    return lines
