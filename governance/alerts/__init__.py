"""分色预警: the rules in force, evaluating colours, the warning lifecycle, alarm management, escalation and jobs."""
