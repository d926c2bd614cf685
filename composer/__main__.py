from composer.cli.main import run

run()
