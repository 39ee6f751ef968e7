"""A second, independent test corpus: requests written the way people outside this project write them.

Nothing here imports the parsers' vocabulary or the other generators (tests/docgen.py, mailgen.py,
faxgen.py, formgen.py, synth.py, corpus.py): names, companies, addresses, label phrasings
(`phrasings.toml`), layouts and fonts are this package's own, so a figure measured on it says how
the extractor does on text no one here wrote. `corpus.generate` writes the files with their ground
truth; `score` compares an extraction with it; `bench/heldout.py` prints the tables.
"""
