"""Questions in everyday words, answered for every transport (see :mod:`.service`)."""
