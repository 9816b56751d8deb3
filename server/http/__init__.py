"""HTTP routes only: parse, authenticate, call one service function, answer. No SQL and no domain rules here."""
