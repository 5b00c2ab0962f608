import CLI

Podrec.main()
