from invoiceflow.cli import main

main()
