"""Cold reads of derived chunks against delta and whole chunks (issue #18)."""
