"""The label vocabulary as data: every way people write a field's label, by canonical field path.

Split from `parsers.labels` (which reads it and re-exports every name here, so imports stay as they
were): `LABELS` (labels that mean the same wherever they stand), `SECTION_LABELS` (bare "Name",
"Address", "Phone"... whose meaning depends on the heading above them), `SECTIONS` (those headings),
the words a section puts before a label, and the canonical fields. Nothing here may hold a *tests
only* phrasing (`tests/test_vocabulary_split.py`).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# the vocabulary

LABELS: dict[str, list[str]] = {
    "request_type": [
        "Request type", "Type of request", "Requester type", "Type of requester", "Applicant type",
        "Type of applicant", "Employment status", "Employment type", "Type of employment",
        "Request for", "Certificate for", "Certificate type", "Type of certificate",
        "Worker type", "Coverage type", "Type of coverage",
    ],
    "worker.name": [
        "Employee name", "Name of employee", "Name of the employee", "Employee's full name",
        "Employee full name", "Worker name", "Name of worker", "Name of the worker", "Worker",
        "Employee", "Name", "Full name", "Name in full", "Applicant name", "Name of applicant", "Applicant",
        "Self-employed person", "Name of self-employed person", "Self-employed name",
        "Name of person", "Person", "Name (first, middle, last)", "Transferee", "Transferee name",
        "Employee/worker name", "Name of employee/worker", "Name of transferred employee",
        "Assignee", "Assignee name", "Name of assignee", "Insured person", "Name of insured person",
    ],
    "worker.first_name": [
        "First name", "Given name", "Given names", "Forename", "Forenames", "First", "First given name",
        "Christian name", "Vorname", "Prenom",
    ],
    "worker.middle_name": [
        "Middle name", "Middle initial", "Middle name/initial", "Middle name or initial",
        "Middle names", "Middle", "MI", "M.I.", "Middle init", "Second name",
    ],
    "worker.last_name": [
        "Last name", "Surname", "Family name", "Last", "Nachname", "Nom", "Nom de famille",
        "Last name (surname)",
    ],
    "worker.ssn": [
        "SSN", "S.S.N.", "Soc. Sec. No.", "Soc Sec No", "Soc. Sec. #", "Soc. Sec. Number",
        "Social Security Number", "Social Security No.", "Social Security #", "Social Sec. No.",
        "Social Security", "Social security account number", "U.S. Social Security Number",
        "US SSN", "SS#", "SS No.", "SS number", "Social Security Card Number", "SocSec",
        "Employee's SSN", "Employee SSN", "Worker SSN", "Worker's SSN", "SSN/ITIN",
    ],
    "worker.date_of_birth": [
        "DOB", "D.O.B.", "Date of birth", "Birth date", "Birthdate", "Born", "Born on", "Birthday",
        "Date born", "Employee's date of birth", "Geburtsdatum", "Date de naissance",
    ],
    "worker.place_of_birth": [
        "Place of birth", "Birthplace", "Birth place", "POB", "City of birth", "Born in",
        "Place and country of birth", "City and country of birth", "City and state of birth",
        "Country of birth", "Geburtsort", "Lieu de naissance",
    ],
    "worker.citizenship": [
        "Citizenship", "Nationality", "Country of citizenship", "Citizen of", "Citizenship country",
        "Country of nationality", "Citizen", "Staatsangehorigkeit", "Nationalite",
    ],
    "worker.email": ["Email", "E-mail", "Email address", "E-mail address", "Mail", "Applicant email"],
    "worker.phone": [
        "Phone", "Telephone", "Tel", "Tel.", "Phone number", "Telephone number", "Phone no.",
        "Daytime phone", "Daytime telephone", "Mobile", "Mobile phone", "Cell", "Cell phone",
        "Applicant phone",
    ],
    "worker.address": [
        "Home address", "Address", "Residence address", "Residential address", "Mailing address",
        "U.S. address", "US home address", "U.S. home address", "Permanent address",
        "Street address", "Address in the U.S.", "U.S. business address", "Business address",
        "Home/business address", "Address of residence", "Private address",
    ],
    "worker.address.street": ["Street", "Street and number", "Street and house number", "Address line 1"],
    "worker.address.city": ["City", "Town", "City/town", "Home city"],
    "worker.address.state": ["State", "Home state"],
    "worker.address.postal_code": ["ZIP", "ZIP code", "Zip+4", "Postal code", "Postcode"],
    "worker.foreign_id": [
        "Foreign ID", "Foreign ID number", "Foreign identification number", "Foreign SSN",
        "Foreign social security number", "Foreign insurance number", "Foreign tax ID",
        "ID number in host country", "ID number in the other country", "Local ID number",
        "Host country ID", "Host country ID number", "Social insurance number abroad",
        "Insurance number abroad", "Social security number in the other country", "CPR number",
        "CPR No.", "CPR", "Birth number", "Czech birth number", "Rodne cislo", "Personal identity number",
        "Personnummer", "PESEL", "Codice fiscale", "National insurance number", "NI number",
        "Sozialversicherungsnummer", "Rentenversicherungsnummer", "Number in the other country",
        "Foreign personal number",
    ],
    "worker.residence_country": [
        "Country of residence", "Residence country", "Country of permanent residence",
        "Permanent residence", "Resident of", "Country of domicile", "Residence",
    ],
    "worker.business": [
        "Nature of business", "Nature of the business", "Type of business", "Kind of business",
        "Trade or business", "Nature of trade or business", "Nature of the trade or business",
        "Business activity", "Line of business", "Self-employment activity", "Business",
        "Description of business", "Type of self-employment", "Nature of self-employment",
    ],
    "employer.name": [
        "Employer", "Employer name", "Name of employer", "Name of the employer", "Employer's name",
        "Company name", "Company", "U.S. employer", "Name of U.S. employer", "U.S. company",
        "Legal name of employer", "Employer legal name", "Employing company", "Firm", "Firm name",
        "Organization", "Organization name", "Employer (U.S.)", "US employer name",
        "Name of the U.S. employer", "Corporation",
    ],
    "employer.ein": [
        "EIN", "E.I.N.", "Employer Identification Number", "Employer ID number", "Employer ID",
        "FEIN", "F.E.I.N.", "Federal EIN", "Federal Tax ID", "Federal Tax ID number",
        "Federal tax identification number", "Federal Employer Identification Number",
        "Federal ID", "Federal ID number", "Tax ID", "Tax ID number", "TIN", "IRS EIN",
        "IRS employer identification number", "Employer tax ID", "Employer EIN", "Company EIN",
        "Employer's EIN",
    ],
    "employer.address": [
        "Employer address", "Employer's address", "Address of employer", "Address of the employer",
        "Company address", "Employer mailing address", "Address of U.S. employer",
        "Employer street address", "U.S. employer address", "Business address of employer",
        "Corporate address", "Headquarters", "Headquarters address",
    ],
    "employer.contact_name": [
        "Contact person", "Contact name", "Contact", "Employer contact", "Name of contact person",
        "Contact person name", "Person to contact", "Contact at employer", "HR contact", "HR person",
        "Company contact", "Prepared by", "Submitted by", "Requested by", "Authorized representative",
        "Responsible person", "Employer representative", "Contact person at employer",
    ],
    "employer.contact_phone": [
        "Contact phone", "Contact telephone", "Contact phone number", "Contact tel",
        "Contact person phone", "Phone of contact person", "Employer phone", "Employer telephone",
        "Company phone", "Company telephone", "HR phone", "Employer phone number",
    ],
    "employer.contact_email": [
        "Contact email", "Contact e-mail", "Contact email address", "Contact person email",
        "Email of contact person", "Employer email", "Employer e-mail", "Company email", "HR email",
        "Employer email address",
    ],
    "employer.irs_3121l_date": [
        "3121(l) agreement date", "3121(l) date", "Date of 3121(l) agreement",
        "Section 3121(l) agreement", "Section 3121(l) agreement date", "IRS 3121(l) date",
        "Effective date of 3121(l) agreement", "Effective date of section 3121(l) agreement",
        "Date of section 3121(l) agreement", "3121(l) agreement effective date", "3121(l) agreement",
        "3121l date", "Form 2032 date", "Form 2032 effective date", "IRS agreement date",
    ],
    "assignment.country": [
        "Country of assignment", "Host country", "Destination", "Destination country",
        "Country of destination", "Country", "Country of employment", "Assignment country",
        "Country of work", "Country of work abroad", "Country where work is performed",
        "Country where the work is performed", "Foreign country", "Other country",
        "Agreement country", "Country abroad", "Going to", "Transferred to",
        "Country of transfer", "Country of posting", "Posting country", "Host nation",
    ],
    "assignment.start_date": [
        "Start date", "Date of departure", "Departure date", "From", "From date", "Beginning",
        "Beginning date", "Begin date", "Begins", "Period from", "Period of assignment from",
        "Assignment start", "Assignment start date", "Start of assignment", "Date of transfer",
        "Transfer date", "Commencement date", "Starting date", "Start", "Coverage from",
        "Date work begins", "Date assignment begins", "Expected start date", "Anticipated start date",
        "Planned start date", "Date of arrival", "Arrival date", "Assignment begins", "Effective date",
        "Start of work abroad", "Assignment period from", "Period of employment from",
    ],
    "assignment.end_date": [
        "End date", "Return date", "Date of return", "To", "To date", "Until", "Through", "Thru",
        "Period to", "Period of assignment to", "Assignment end", "Assignment end date",
        "End of assignment", "Expected end date", "Anticipated end date", "Planned end date",
        "Expected return date", "Expected date of return", "Ending date", "End", "Ends", "Coverage to",
        "Date work ends", "Date assignment ends", "Completion date", "Assignment ends",
        "Assignment period to", "Period of employment to", "End of work abroad",
    ],
    "assignment.period": [  # both dates in one value; `values.normalize` splits it
        "Period of assignment", "Assignment period", "Period", "Period of coverage", "Coverage period",
        "Dates of assignment", "Assignment dates", "Duration of assignment", "Duration", "Period of stay",
        "Period of employment abroad", "Period of work abroad", "Dates", "Time period",
        "Period of the assignment", "Expected period of assignment",
    ],
    "assignment.host_name": [
        "Host company", "Host company name", "Name of host company", "Host employer", "Host",
        "Host entity", "Host organization", "Foreign company", "Name of foreign company",
        "Foreign employer", "Foreign affiliate", "Affiliate", "Name of affiliate", "Client",
        "Client abroad", "Company abroad", "Employer abroad", "Foreign subsidiary", "Subsidiary",
        "Receiving company", "Receiving entity", "Company in host country", "Foreign client",
        "Name of company abroad", "Name of the foreign company", "Host company/client",
    ],
    "assignment.work_address": [
        "Work address abroad", "Work address", "Address abroad", "Place of work", "Place of work abroad",
        "Worksite", "Work site", "Worksite address", "Work site address", "Work location",
        "Location", "Location of work", "Address of work", "Address of place of work",
        "Address where work is performed", "Address where the work is performed", "Foreign address",
        "Foreign work address", "Host company address", "Host address", "Address in host country",
        "Address of host company", "Address of foreign company", "Address of employment abroad",
        "Address of work abroad", "Work place", "Workplace", "Workplace address",
    ],
    "assignment.work_address.country": [
        "Work country", "Work address country", "Worksite country", "Work site country",
        "Country of work address", "Country of worksite", "Work location country",
    ],
    "assignment.work_address.street": ["Street abroad", "Work street", "Work street address"],
    "assignment.work_address.city": ["City abroad", "Work city", "Worksite city"],
    "assignment.work_address.postal_code": ["Postal code abroad", "Work postal code"],
    "assignment.hired_in_us": [
        "Hired in the U.S.", "Hired in US", "Hired in the United States", "Hired in U.S.",
        "Was the employee hired in the U.S.", "Employee hired in the U.S.",
        "Hired in the U.S. or working for the employer in the U.S. before the transfer",
        "Hired or working in the U.S. before the transfer", "Working in the U.S. before the transfer",
        "Employed in the U.S. before transfer", "Employed in the U.S. before the transfer",
        "Worked for employer in the U.S. before transfer", "U.S. hire",
    ],
    "assignment.remains_employee": [
        "Remains employee of U.S. employer", "Remains employee", "Remains an employee",
        "Remains an employee of the U.S. employer", "Remains on U.S. payroll", "Remains on payroll",
        "Will remain employee", "Will remain an employee", "Will remain an employee of the U.S. employer",
        "Stays employee", "Continues as employee", "Remains employed by U.S. employer",
        "Remain employee of U.S. employer during assignment", "Remains employed",
        "Employee remains employee of U.S. employer", "Employment relationship continues",
    ],
    "assignment.hire_date": [
        "Date of hire", "Hire date", "Hired on", "Date hired", "Employment start date",
        "Employed since", "Start of employment", "Date employed", "Date of employment",
        "Original hire date",
    ],
    "assignment.hire_place": [
        "Place of hire", "Hire place", "Where hired", "Hired at", "Location of hire", "City of hire",
        "Hired in", "Place hired",
    ],
    "dependents": [
        "Dependent", "Dependents", "Family member", "Family members", "Accompanying family member",
        "Accompanying family members", "Accompanying dependent", "Accompanying dependents",
        "Accompanied by", "Spouse", "Child", "Children", "Wife", "Husband", "Son", "Daughter",
    ],
    "confirmation_email": [
        "Send confirmation to", "Confirmation email", "Confirmation e-mail", "Send confirmation",
        "Confirmation to", "Email for confirmation", "Email confirmation to", "Confirm to",
        "Send approval confirmation to", "Confirmation of approval to", "Notify", "Notification email",
        "Email confirmation", "Please confirm to", "Send the confirmation to",
        "Send the confirmation of approval to", "Send confirmation of approval to",
        "Email for the confirmation of approval",
    ],
}

# Bare labels whose field depends on the heading above them.
_ADDRESS_PARTS: dict[str, list[str]] = {
    "street": ["Street", "Street address", "Street and number", "Address line 1", "Address 1"],
    "city": ["City", "Town", "City/town", "Municipality"],
    "state": ["State", "State/province", "Province", "Region", "County"],
    "postal_code": ["ZIP", "ZIP code", "Zip+4", "Postal code", "Postcode", "Post code", "PLZ"],
}
SECTION_LABELS: dict[str, dict[str, list[str]]] = {
    "worker": {
        "worker.name": ["Name", "Full name"],
        "worker.address": ["Address", "Home address", "Business address", "Mailing address"],
        "worker.address.country": ["Country"],
        "worker.phone": ["Phone", "Telephone", "Tel", "Phone number", "Mobile", "Cell"],
        "worker.email": ["Email", "E-mail", "Email address"],
        "worker.business": ["Business", "Nature of business", "Trade"],
        **{f"worker.address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "employer": {
        "employer.name": ["Name", "Legal name", "Company", "Company name", "Business name"],
        "employer.address": ["Address", "Business address", "Mailing address", "Street address"],
        "employer.address.country": ["Country"],
        "employer.contact_phone": ["Phone", "Telephone", "Tel", "Phone number"],
        "employer.contact_email": ["Email", "E-mail", "Email address"],
        "employer.contact_name": ["Contact", "Contact person", "Contact name"],
        **{f"employer.address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "contact": {
        "employer.contact_name": ["Name", "Contact", "Contact person", "Person"],
        "employer.contact_phone": ["Phone", "Telephone", "Tel", "Phone number", "Mobile"],
        "employer.contact_email": ["Email", "E-mail", "Email address"],
    },
    "work": {
        "assignment.period": [  # both dates in one value; `values.normalize` splits it
        "Period of assignment", "Assignment period", "Period", "Period of coverage", "Coverage period",
        "Dates of assignment", "Assignment dates", "Duration of assignment", "Duration", "Period of stay",
        "Period of employment abroad", "Period of work abroad", "Dates", "Time period",
        "Period of the assignment", "Expected period of assignment",
    ],
    "assignment.host_name": ["Name", "Company", "Company name", "Employer", "Client", "Host"],
        "assignment.work_address": ["Address", "Street address", "Location"],
        "assignment.country": ["Country"],
        **{f"assignment.work_address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "dependents": {
        "dependents.name": ["Name", "Full name", "Name of dependent"],
        "dependents.date_of_birth": ["Date of birth", "DOB", "D.O.B.", "Born", "Birth date", "Birthdate"],
        "dependents.relationship": ["Relationship", "Relation", "Relationship to employee",
                                    "Relationship to worker", "Relationship to applicant"],
    },
}

# Headings that open a section.
SECTIONS: dict[str, list[str]] = {
    "worker": [
        "Employee", "Worker", "Employee information", "Worker information", "Employee details",
        "Worker details", "Employee data", "Personal information", "Personal data",
        "Personal details", "Information about the employee", "About the employee", "Applicant",
        "Applicant information", "Self-employed person", "Self-employed", "Self-employed individual",
        "Information about the self-employed person", "Employee/worker", "Worker/employee",
        "Employee/self-employed person", "The employee", "The worker", "Transferee", "Assignee",
        "Person to be covered", "Insured person", "Worker/Employee information",
        "Employee or self-employed person",
    ],
    "employer": [
        "Employer", "Employer information", "U.S. employer", "Employer details", "Employer data",
        "Company information", "Company details", "Company", "Information about the employer",
        "About the employer", "The employer", "U.S. employer information", "Employer (U.S.)",
        "Employing company",
    ],
    "contact": [
        "Contact person", "Contact", "Employer contact", "Contact information", "Contact details",
        "Person to contact", "HR contact", "Contact at employer", "Company contact",
    ],
    "work": [
        "Work abroad", "Work address abroad", "Place of work", "Place of work abroad", "Assignment",
        "Assignment information", "Assignment details", "Details of assignment", "Foreign assignment",
        "Assignment abroad", "Employment abroad", "Host company", "Host employer", "Host company abroad",
        "Work in the other country", "Foreign employer", "Transfer", "Transfer details",
        "Period of assignment", "Work site abroad", "Worksite abroad", "Foreign affiliate",
        "Client abroad", "Work location", "Posting", "Posting details", "Employment in the other country",
        "Information about the assignment", "About the assignment", "Secondment",
    ],
    "dependents": [
        "Dependents", "Family members", "Accompanying family members", "Family members accompanying",
        "Accompanying dependents", "Spouse and children", "Family", "Dependents accompanying",
        "Accompanying family", "Family members who go along",
    ],
}

# Words that prefix a section's bare labels in a column header or form field name ("Employer
# Phone", "Host City"), so `header_field` can read them without a heading above.
_SECTION_PREFIXES: dict[str, list[str]] = {
    "worker": ["Employee", "Worker", "Applicant", "Employee's", "Home"],
    "employer": ["Employer", "Company", "Employer's", "U.S. employer"],
    "contact": ["Contact", "Employer contact", "Contact person"],
    "work": ["Host", "Host company", "Work", "Worksite", "Work site", "Assignment", "Foreign"],
}

_FIELD_SECTION = {"worker": "worker", "employer": "employer", "assignment": "work"}

# Fields for which a following "No." / "#" / "Number" is part of the label ("SSN No.", "Tel. #").
_NUMBER_SUFFIX_LEAVES = {"ssn", "ein", "foreign_id", "phone", "contact_phone", "name"}

# Every canonical field path (for header_field's exact matches).
CANONICAL_FIELDS: tuple[str, ...] = (
    "request_type", "worker.first_name", "worker.middle_name", "worker.last_name", "worker.ssn",
    "worker.date_of_birth", "worker.place_of_birth", "worker.citizenship", "worker.email",
    "worker.phone", "worker.address", "worker.foreign_id", "worker.residence_country",
    "worker.business", "employer.name", "employer.ein", "employer.address", "employer.contact_name",
    "employer.contact_phone", "employer.contact_email", "employer.irs_3121l_date",
    "assignment.country", "assignment.start_date", "assignment.end_date", "assignment.host_name",
    "assignment.work_address", "assignment.hired_in_us", "assignment.remains_employee",
    "assignment.hire_date", "assignment.hire_place", "confirmation_email", "worker.name",
    *(f"{base}.{k}" for base in ("worker.address", "employer.address", "assignment.work_address")
      for k in ("street", "city", "state", "postal_code", "country")),
)
