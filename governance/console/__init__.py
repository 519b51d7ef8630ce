"""What operators change: warning and visit-plan settings from the admin console, and the operator commands."""
