"""Reference data: administrative units, agencies, the procedure catalog, holidays."""
