using BenchmarkDotNet.Running;

namespace ResetScope.Benchmarks;

public static class Program
{
    // dotnet run -c Release --project bench/ResetScope.Benchmarks -- --filter '*'   (BenchmarkDotNet switches)
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
