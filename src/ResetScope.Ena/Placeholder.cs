namespace ResetScope.Ena;
