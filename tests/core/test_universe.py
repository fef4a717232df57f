import pytest

from aegis_core.archive.universe import UniverseError, load_universe, parse_universe, select_symbols


def test_comments_blank_lines_and_order():
    assert parse_universe("# header\nSPY\n\nAAPL  # trailing\nBRK.B\n") == ["SPY", "AAPL", "BRK.B"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("SPY\nsp y\n", "line 2: 'sp y' is not a valid ticker"),
        ("SPY\nAAPL\nSPY\n", "line 3: duplicate symbol 'SPY' \\(first on line 1\\)"),
        ("# nothing\n", "empty"),
    ],
)
def test_bad_lines_are_named(text, message):
    with pytest.raises(UniverseError, match=message):
        parse_universe(text, "u.txt")


def test_missing_file(tmp_path):
    with pytest.raises(UniverseError, match="not found"):
        load_universe(tmp_path / "nope.txt")


def test_default_universe_is_a_few_dozen_liquid_symbols():
    symbols = load_universe(__import__("pathlib").Path("configs/universe/default.txt"))
    assert 30 <= len(symbols) <= 80 and {"SPY", "QQQ", "AAPL"} <= set(symbols)


def test_select_symbols():
    assert select_symbols(["SPY", "AAPL"], "aapl, spy") == ["AAPL", "SPY"]
    assert select_symbols(["SPY"], None) == ["SPY"]
    with pytest.raises(UniverseError, match="ZZZZ"):
        select_symbols(["SPY"], "SPY,ZZZZ")
