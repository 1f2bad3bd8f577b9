from colonies.cli import main

main()
