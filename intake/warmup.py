"""Imported by the extraction fork server: fill the parsers' lazy caches once.

Every document is extracted in a child forked from that server, so whatever is loaded here
(country tables, compiled label patterns) is shared by all of them instead of being rebuilt per
document, which cost a third of a second each.
"""

from intake.extract import extract_submission

_SAMPLE = (b"From: warm@example.com\r\nTo: certificate@localhost\r\nSubject: warm up\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Employee name: Jane Q. Doe\r\nDate of birth: April 24, 1985\r\nCountry: Germany\r\n"
           b"Employer: Acme Inc\r\nEIN: 12-3456789\r\nStart date: 3/1/2027\r\nState: Idaho\r\n")

extract_submission(_SAMPLE, channel="email")

# The label vocabulary's index is built per section (`parsers.label_words._index`, about 0.4 s each
# on this machine): the sample above warms one or two; a child that met another section built it
# anew for every document, most of the extraction's time in `bench.daemon`. All of them here.
from parsers import label_words  # noqa: E402  (after the sample: the same modules, now loaded)
from parsers.labels import SECTION_LABELS  # noqa: E402

for _section in (None, *SECTION_LABELS):
    label_words._index(_section)
