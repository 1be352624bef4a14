"""Call states (stored as they are) and timer names."""

NEW, CALLING_SRC, ANNOUNCING, CALLING_DST = "new", "calling_src", "announcing", "calling_dst"
CONNECTED, TRANSFERRING, ENDING = "connected", "transferring", "ending"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
ACTIVE = (CALLING_SRC, ANNOUNCING, CALLING_DST, CONNECTED, TRANSFERRING)
ALL_STATES = (NEW, *ACTIVE, ENDING, COMPLETED, FAILED, CANCELLED)

SRC_RING, DST_RING, XFER_RING = "src_ring", "dst_ring", "xfer_ring"
ANNOUNCE, DURATION = "announce", "duration"
