"""The alerts of seed section 4.3."""

ALERTS = ()
