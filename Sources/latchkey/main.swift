import LatchkeyApp

await LatchkeyCommand.main()
