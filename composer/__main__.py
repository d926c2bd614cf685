from composer.cli import run

run()
