"""``tongban demo_data`` loads the sample; ``tongban demo_accounts`` prints who can log in."""
