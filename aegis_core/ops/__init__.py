"""Operations: the Saxo token keeper, the paper-trading health monitor, and the decisions of the
instance watchdog and the run watch."""
