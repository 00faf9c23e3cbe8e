"""电子证照: licence types and instances, 电子印章 keys, signed QR codes, verification,
revocation, holder-authorised use and expiry reminders."""
