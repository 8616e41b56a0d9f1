"""The boundary segments offer campaigns ("when a contact enters segment S")."""

from django.dispatch import Signal

# sent on commit with segment=Segment, entered=set[int], exited=set[int] (contact ids)
segment_membership_changed = Signal()
