"""What campaigns' services announce; campaigns.handlers, the one module that enqueues its tasks,
turns them into nudges. Sent on commit, so a task never looks for a row that was rolled back."""

from django.dispatch import Signal

# sent on commit with campaign=Campaign after it became active (a broadcast may be due now)
campaign_activated = Signal()
# sent on commit with campaign=Campaign and result=ScheduleResult after a test push was scheduled,
# due now
test_push_scheduled = Signal()
