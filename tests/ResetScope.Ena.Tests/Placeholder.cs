namespace ResetScope.Ena.Tests;
