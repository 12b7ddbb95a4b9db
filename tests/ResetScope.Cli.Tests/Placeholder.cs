namespace ResetScope.Cli.Tests;
