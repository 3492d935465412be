"""`kioskd diag`: the technician's console, a client of the local API only (never the drivers)."""
