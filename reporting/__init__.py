"""Coverage reporting to police and the campaign statistics table."""
