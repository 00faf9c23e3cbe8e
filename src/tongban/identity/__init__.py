"""Identity: divisions (GB/T 2260) and departments, service centres and windows, natural and legal
persons, enterprise agents (经办人), staff with roles, accounts with real-name level and login."""
