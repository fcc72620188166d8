"""The command line's parser and converters (no fit: bayescale.cli_args)."""

import pytest

from bayescale import cli_args


def parse(*argv):
    return cli_args.build_parser().parse_args(list(argv))


def test_fit_options_parse_into_numbers():
    args = parse("fit", "runs.csv", "--budget", "1e24", "--budget", "5000pf-days", "--seed", "3")
    assert args.command == "fit" and args.seed == 3
    assert [float(b) for b in args.budget] == pytest.approx([1e24, 5000 * 8.64e19])


def test_predict_points_read_sizes_people_write():
    args = parse("predict", "runs.csv", "--at", "70B/1.4T", "--at", "7e9/2e12")
    assert args.at == [(7e10, 1.4e12), (7e9, 2e12)]


@pytest.mark.parametrize(
    "argv",
    [
        ("fit", "runs.csv", "--budget", "lots"),
        ("predict", "runs.csv", "--at", "70B"),
        ("fit", "runs.csv", "--chains", "0"),
        ("frobnicate",),
    ],
)
def test_bad_options_are_input_errors(argv):
    with pytest.raises(cli_args.InputError):
        parse(*argv)


def test_exit_codes_are_distinct():
    codes = {cli_args.EXIT_OK, cli_args.EXIT_INTERNAL, cli_args.EXIT_INPUT}
    assert len(codes | {cli_args.EXIT_DIAGNOSTICS}) == 4
