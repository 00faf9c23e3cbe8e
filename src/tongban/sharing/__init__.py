"""数据共享 (data sharing): 数源 connectors, the lookup log, consent, 系统填 prefill and 免提交."""
