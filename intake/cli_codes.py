"""The exit codes of `coc-intake`: 0 done, 1 something needs review (or failed), 2 a usage error."""

EXIT_OK, EXIT_REVIEW, EXIT_USAGE = 0, 1, 2
