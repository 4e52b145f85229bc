from confsched.cli import main

main()
