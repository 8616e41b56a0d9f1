"""The boundary segments offer campaigns ("when a contact enters segment S"), and what its
services announce to segments.handlers, the one module that enqueues its tasks."""

from django.dispatch import Signal

# sent on commit with segment=Segment, entered=set[int], exited=set[int] (contact ids)
segment_membership_changed = Signal()
# sent on commit with segment=Segment when its members must be recomputed: it was created, its
# conditions changed, or a refresh was asked for
segment_refresh_requested = Signal()
