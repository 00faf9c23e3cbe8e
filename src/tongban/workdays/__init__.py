"""Working days (工作日): the Chinese State Council holiday schedule with 调休 make-up workdays,
administrator-entered years, per-division overrides, and statutory deadline arithmetic."""
