"""Operations assets: the Saxo token and the paper-trading runtime health."""
