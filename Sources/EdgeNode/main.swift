import EdgeNodeApp

await EdgeNodeCLI.runMain()
