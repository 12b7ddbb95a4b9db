using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace ResetScope.Deploy.Tests;

/// <summary>deploy/kubernetes: the DaemonSet and what goes with it.</summary>
public class KubernetesManifestTests
{
    private static List<YamlMappingNode> Documents(string relative)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(Repo.Read(relative));
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlMappingNode Map(YamlNode node, params string[] path)
    {
        foreach (string key in path)
        {
            node = ((YamlMappingNode)node)[key];
        }

        return (YamlMappingNode)node;
    }

    private static IEnumerable<YamlMappingNode> Seq(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out YamlNode? s) ? ((YamlSequenceNode)s).Cast<YamlMappingNode>() : [];

    private static string Str(YamlNode node, params string[] path)
    {
        for (int i = 0; i < path.Length - 1; i++)
        {
            node = ((YamlMappingNode)node)[path[i]];
        }

        return ((YamlMappingNode)node)[path[^1]].ToString();
    }

    private static readonly List<YamlMappingNode> Manifests = Documents("deploy/kubernetes/daemonset.yaml");
    private static YamlMappingNode DaemonSet => Manifests.Single(d => Str(d, "kind") == "DaemonSet");
    private static YamlMappingNode PodSpec => Map(DaemonSet, "spec", "template", "spec");
    private static YamlMappingNode Agent => Seq(PodSpec, "containers").Single();
    private static List<string> Args => ((YamlSequenceNode)Agent["args"]).Select(a => a.ToString()).ToList();

    private static string ArgAfter(string flag)
    {
        int i = Args.IndexOf(flag);
        i.Should().BeGreaterThanOrEqualTo(0, $"the agent is started with {flag}");
        return Args[i + 1];
    }

    /// <summary>The container path at which the node's <paramref name="hostPath"/> is mounted.</summary>
    private static string MountOf(string hostPath)
    {
        string volume = Seq(PodSpec, "volumes").Single(v => v.Children.ContainsKey("hostPath") && Str(v, "hostPath", "path") == hostPath)["name"].ToString();
        return Seq(Agent, "volumeMounts").Single(m => Str(m, "name") == volume)["mountPath"].ToString();
    }

    [Fact]
    public void The_manifest_is_a_namespace_a_service_account_and_a_daemonset_in_that_namespace()
    {
        Manifests.Select(d => Str(d, "kind")).Should().Equal("Namespace", "ServiceAccount", "DaemonSet");
        string ns = Str(Manifests[0], "metadata", "name");
        Manifests.Skip(1).Should().OnlyContain(d => Str(d, "metadata", "namespace") == ns);
        Str(PodSpec, "serviceAccountName").Should().Be(Str(Manifests[1], "metadata", "name"));
        Str(PodSpec, "automountServiceAccountToken").Should().Be("false");

        YamlMappingNode selector = Map(DaemonSet, "spec", "selector", "matchLabels");
        YamlMappingNode podLabels = Map(DaemonSet, "spec", "template", "metadata", "labels");
        selector.Children.Should().OnlyContain(kv => podLabels.Children.ContainsKey(kv.Key) && podLabels[kv.Key].ToString() == kv.Value.ToString());
    }

    [Fact]
    public void The_agent_gets_exactly_the_three_capabilities_of_the_systemd_unit_and_nothing_else()
    {
        YamlMappingNode sc = Map(Agent, "securityContext");
        YamlMappingNode caps = Map(sc, "capabilities");
        string[] add = ((YamlSequenceNode)caps["add"]).Select(c => c.ToString()).ToArray();
        add.Should().BeEquivalentTo(["SYSLOG", "DAC_READ_SEARCH", "SYS_PTRACE"]);
        ((YamlSequenceNode)caps["drop"]).Select(c => c.ToString()).Should().Equal("ALL");

        // The same set as the unit's CapabilityBoundingSet (which spells them with CAP_).
        string unitCaps = SystemdUnitTests.Settings().Single(s => s.Key == "CapabilityBoundingSet").Value;
        add.Select(c => "CAP_" + c).Should().BeEquivalentTo(unitCaps.Split(' '));

        Str(sc, "privileged").Should().Be("false");
        Str(sc, "allowPrivilegeEscalation").Should().Be("false");
        Str(sc, "readOnlyRootFilesystem").Should().Be("true");
        Str(sc, "seccompProfile", "type").Should().Be("RuntimeDefault");
        PodSpec.Children.Should().NotContainKey("securityContext", "pod-level settings would not add capabilities but could confuse the review");
    }

    [Fact]
    public void The_agent_sees_the_node_processes_network_kernel_log_and_cgroups()
    {
        Str(PodSpec, "hostPID").Should().Be("true");
        Str(PodSpec, "hostNetwork").Should().Be("true");
        Str(PodSpec, "dnsPolicy").Should().Be("ClusterFirstWithHostNet");

        ArgAfter("--proc-root").Should().Be(MountOf("/proc"));
        ArgAfter("--sys-root").Should().Be(MountOf("/sys"));
        MountOf("/dev/kmsg").Should().Be("/dev/kmsg");
        Seq(PodSpec, "volumes").Single(v => Str(v, "name") == "kmsg")["hostPath"]["type"].ToString().Should().Be("CharDevice");

        string store = ArgAfter("--store");
        Path.GetDirectoryName(store).Should().Be(MountOf("/var/lib/resetscope"));
        Seq(Agent, "volumeMounts").Where(m => m.Children.ContainsKey("readOnly") && Str(m, "readOnly") == "true")
            .Select(m => Str(m, "mountPath")).Should().BeEquivalentTo(["/host/proc", "/host/sys", "/dev/kmsg"], "only the store and /tmp are writable");
        Seq(Agent, "volumeMounts").Select(m => Str(m, "mountPath")).Should().Contain("/tmp", "readOnlyRootFilesystem needs a writable /tmp for temporary files");
    }

    [Fact]
    public void Metrics_port_scrape_annotations_and_probes_agree_with_metrics_listen()
    {
        string listen = ArgAfter("--metrics-listen");
        listen.Should().Be("$(POD_IP):9465");
        Seq(Agent, "env").Should().Contain(e => Str(e, "name") == "POD_IP" && Str(e, "valueFrom", "fieldRef", "fieldPath") == "status.podIP");
        string port = listen[(listen.LastIndexOf(':') + 1)..];

        YamlMappingNode metricsPort = Seq(Agent, "ports").Single(p => Str(p, "name") == "metrics");
        Str(metricsPort, "containerPort").Should().Be(port);
        Str(metricsPort, "hostPort").Should().Be(port, "with hostNetwork the host port is the container port");

        YamlMappingNode annotations = Map(DaemonSet, "spec", "template", "metadata", "annotations");
        annotations["prometheus.io/scrape"].ToString().Should().Be("true");
        annotations["prometheus.io/port"].ToString().Should().Be(port);
        annotations["prometheus.io/path"].ToString().Should().Be("/metrics");

        foreach (string probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Str(Agent, probe, "httpGet", "path").Should().Be("/metrics");
            Str(Agent, probe, "httpGet", "port").Should().BeOneOf("metrics", port);
        }
    }

    [Fact]
    public void It_runs_on_every_node_within_the_agent_budget()
    {
        Seq(PodSpec, "tolerations").Should().Contain(t => Str(t, "operator") == "Exists" && !t.Children.ContainsKey("key") && !t.Children.ContainsKey("effect"),
            "a bare `operator: Exists` toleration matches every taint");

        YamlMappingNode requests = Map(Agent, "resources", "requests");
        YamlMappingNode limits = Map(Agent, "resources", "limits");
        MilliCpu(requests["cpu"].ToString()).Should().Be(5, "the budget is 0.5% of a core on average");
        Mebibytes(requests["memory"].ToString()).Should().BeGreaterThanOrEqualTo(60, "the budget is 60 MB RSS");
        Mebibytes(limits["memory"].ToString()).Should().BeGreaterThan(Mebibytes(requests["memory"].ToString()));
        MilliCpu(limits["cpu"].ToString()).Should().BeGreaterThanOrEqualTo(100, "a tight CFS quota throttles the recorder into false gaps");
    }

    private static int MilliCpu(string q) => q.EndsWith('m') ? int.Parse(q[..^1], CultureInfo.InvariantCulture) : (int)(double.Parse(q, CultureInfo.InvariantCulture) * 1000);

    private static int Mebibytes(string q) => q.EndsWith("Mi", StringComparison.Ordinal)
        ? int.Parse(q[..^2], CultureInfo.InvariantCulture)
        : throw new FormatException($"write memory quantities in Mi: {q}");

    [Fact]
    public void The_pod_monitor_scrapes_the_agent_pods_as_job_resetscope()
    {
        YamlMappingNode podMonitor = Documents("deploy/kubernetes/podmonitor.yaml").Single();
        Str(podMonitor, "kind").Should().Be("PodMonitor");
        Str(podMonitor, "metadata", "namespace").Should().Be(Str(DaemonSet, "metadata", "namespace"));

        YamlMappingNode podLabels = Map(DaemonSet, "spec", "template", "metadata", "labels");
        Map(podMonitor, "spec", "selector", "matchLabels").Children
            .Should().OnlyContain(kv => podLabels.Children.ContainsKey(kv.Key) && podLabels[kv.Key].ToString() == kv.Value.ToString());
        Str(Seq(Map(podMonitor, "spec"), "podMetricsEndpoints").Single(), "port").Should().Be("metrics");

        // The alert rules expect job="resetscope": jobLabel names the pod label whose value becomes the job.
        podLabels[Str(podMonitor, "spec", "jobLabel")].ToString().Should().Be("resetscope");
    }

    [ToolFact("kubectl", "kubectl from https://kubernetes.io/docs/tasks/tools/; its built-in kustomize renders offline")]
    public void Kustomize_renders_the_manifests_with_the_image_override()
    {
        Repo.Result r = Repo.Run("kubectl", "kustomize", Repo.Path("deploy/kubernetes"));

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Contain("kind: DaemonSet").And.Contain("kind: Namespace").And.Contain("image: resetscope:latest");
    }
}
