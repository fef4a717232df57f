"""Operations jobs at runtime: the Saxo token keeper and the paper-trading health monitor."""
