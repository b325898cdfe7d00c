
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ferryctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ferryctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ferryctl' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyze Istio configuration and print validation messages')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Commands related to Istio manifests')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'Commands related to Istio configuration profiles')
            [CompletionResult]::new('discovery', 'discovery', [CompletionResultType]::ParameterValue, 'Start Ferry''s control plane: serve Envoy config over xDS from a config directory or a cluster')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Start a Ferry proxy (sidecar or gateway) configured by the control plane over xDS')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Prints out build version information')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Generate the autocompletion script for the specified shell')
            break
        }
        'ferryctl;analyze' {
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only')
            [CompletionResult]::new('--use-kube', '--use-kube', [CompletionResultType]::ParameterName, 'Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: one of log|json|yaml|sarif')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: one of log|json|yaml|sarif')
            [CompletionResult]::new('--failure-threshold', '--failure-threshold', [CompletionResultType]::ParameterName, 'The severity level of analysis at which to set a non-zero exit code. Valid values: [Info Warning Error]')
            [CompletionResult]::new('--output-threshold', '--output-threshold', [CompletionResultType]::ParameterName, 'The severity level of analysis at which to display messages. Valid values: [Info Warning Error]')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)')
            [CompletionResult]::new('--suppress', '--suppress', [CompletionResultType]::ParameterName, 'Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)')
            [CompletionResult]::new('--meshConfigFile', '--meshConfigFile', [CompletionResultType]::ParameterName, 'Overrides the mesh config values to use for analysis')
            [CompletionResult]::new('--analyzer', '--analyzer', [CompletionResultType]::ParameterName, 'Select specific analyzers to run, e.g. "gateway.SecretAnalyzer" (repeatable); unknown names select all')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Default true. Disable with ''=false'' or set $TERM to dumb (NO_COLOR also disables it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'The duration to wait before failing')
            [CompletionResult]::new('--exclude-namespaces', '--exclude-namespaces', [CompletionResultType]::ParameterName, 'Skip these namespaces (comma-separated, repeatable)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)')
            [CompletionResult]::new('--revision', '--revision', [CompletionResultType]::ParameterName, 'Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Analyze all namespaces')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Analyze all namespaces')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'List the analyzers available to run. Suppresses normal execution')
            [CompletionResult]::new('--list-analyzers', '--list-analyzers', [CompletionResultType]::ParameterName, 'List the analyzers available to run. Suppresses normal execution')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Enable verbose output')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Enable verbose output')
            [CompletionResult]::new('--ignore-unknown', '--ignore-unknown', [CompletionResultType]::ParameterName, 'Don''t output files that could not be parsed, and don''t fail because of them')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, '[Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, '[Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;manifest' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Generates an Istio install manifest')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare manifests and generate diff')
            break
        }
        'ferryctl;manifest;generate' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Target control plane revision for the command (a DNS-1123 label; default means none)')
            [CompletionResult]::new('--revision', '--revision', [CompletionResultType]::ParameterName, 'Target control plane revision for the command (a DNS-1123 label; default means none)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Manifest output directory path: one file per component instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Manifest output directory path: one file per component instead of standard output')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('--manifests', '--manifests', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Proceed even with validation errors: unknown fields and bad values are dropped with a warning')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;manifest;diff' {
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Constrain the list of resources to compare to only the ones in this list, ignoring all others. Comma-separated "Kind:namespace:name" items where "*" (or an empty part) matches anything, e.g. "Deployment:istio-system:*" (all Deployments in istio-system) or "Service:*:istiod" (Services called istiod in all namespaces)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Ignore all listed items during comparison, using the same list format as --select; a fourth part ignores a field path inside the matching objects, e.g. "Deployment:*:*:metadata.labels*"')
            [CompletionResult]::new('--rename', '--rename', [CompletionResultType]::ParameterName, 'Rename resources of A before comparison: comma-separated A->B pairs, e.g. "Service:*:istiod->Service:*:istio-control" (rename the istiod Service to istio-control)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Compare directory')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Compare directory')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Verbose output')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Verbose output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;profile' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Lists available Istio configuration profiles')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Dumps an Istio configuration profile')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Diffs two Istio configuration profiles')
            break
        }
        'ferryctl;profile;list' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: one of json|yaml (default: istioctl''s list)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: one of json|yaml (default: istioctl''s list)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('--manifests', '--manifests', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;profile;dump' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The path the root of the configuration subtree to dump e.g. components.pilot. By default, dump whole tree')
            [CompletionResult]::new('--config-path', '--config-path', [CompletionResultType]::ParameterName, 'The path the root of the configuration subtree to dump e.g. components.pilot. By default, dump whole tree')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: one of json|yaml|flags')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: one of json|yaml|flags')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('--manifests', '--manifests', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Proceed even with validation errors: unknown fields and bad values are dropped with a warning')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;profile;diff' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('--manifests', '--manifests', [CompletionResultType]::ParameterName, 'Not supported: Ferry''s profiles and manifests are built into ferryctl')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;discovery' {
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory of Istio and Kubernetes YAML, read recursively and watched for changes. Without it, config is watched on the cluster of --kubeconfig/--context (or in-cluster)')
            [CompletionResult]::new('--grpcAddr', '--grpcAddr', [CompletionResultType]::ParameterName, 'Discovery service gRPC address (plain text)')
            [CompletionResult]::new('--monitoringAddr', '--monitoringAddr', [CompletionResultType]::ParameterName, 'HTTP address for the debug endpoints (/debug/syncz, /debug/configz, /ready, ...)')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'DNS domain suffix')
            [CompletionResult]::new('--meshConfig', '--meshConfig', [CompletionResultType]::ParameterName, 'File name for Istio mesh configuration (rootNamespace, connectTimeout, dnsRefreshRate, outboundTrafficPolicy are used). If not specified, a default mesh will be used')
            [CompletionResult]::new('--log_output_level', '--log_output_level', [CompletionResultType]::ParameterName, 'Comma-separated minimum per-scope logging level of messages to output, in the form of <scope>:<level>,<scope>:<level>,... where scope can be one of [default, ads] and level can be one of [debug, info, warn, error, none]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;proxy' {
            [CompletionResult]::new('--discovery-address', '--discovery-address', [CompletionResultType]::ParameterName, 'Address of the control plane''s xDS server (plaintext gRPC, istiod''s 15010)')
            [CompletionResult]::new('--pod-name', '--pod-name', [CompletionResultType]::ParameterName, 'Pod name (default: istio-ingressgateway for routers, the host name for sidecars)')
            [CompletionResult]::new('--pod-namespace', '--pod-namespace', [CompletionResultType]::ParameterName, 'Pod namespace (default: istio-system for routers, default for sidecars)')
            [CompletionResult]::new('--ip', '--ip', [CompletionResultType]::ParameterName, 'The workload''s IP')
            [CompletionResult]::new('--labels', '--labels', [CompletionResultType]::ParameterName, 'Workload labels, key=value[,key=value] (default for routers: istio=ingressgateway,app=istio-ingressgateway)')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'DNS domain suffix')
            [CompletionResult]::new('--admin-address', '--admin-address', [CompletionResultType]::ParameterName, 'Address of Envoy''s admin API')
            [CompletionResult]::new('--interception-mode', '--interception-mode', [CompletionResultType]::ParameterName, 'How traffic reaches a sidecar: NONE (Ferry''s default: no iptables, outbound listeners bind their ports) or REDIRECT/TPROXY (captured by iptables set up outside Ferry)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Worker threads (Envoy''s --concurrency)')
            [CompletionResult]::new('--proxyLogLevel', '--proxyLogLevel', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warning, error, critical, off (Envoy''s --proxyLogLevel)')
            [CompletionResult]::new('--proxyComponentLogLevel', '--proxyComponentLogLevel', [CompletionResultType]::ParameterName, 'Per-logger levels over --proxyLogLevel, <logger>:<level>[,...] with Envoy''s logger names (Istio''s --proxyComponentLogLevel, e.g. misc:error,router:debug)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;version' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Use --short=false to generate full version information')
            [CompletionResult]::new('--short', '--short', [CompletionResultType]::ParameterName, 'Use --short=false to generate full version information')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'One of ''yaml'' or ''json''')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'One of ''yaml'' or ''json''')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Query the control plane for its version. Ferry''s control plane is not built yet, so only --remote=false is accepted')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ferryctl;completion' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes configuration file')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubernetes configuration context')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Kubernetes namespace')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('--istioNamespace', '--istioNamespace', [CompletionResultType]::ParameterName, 'Istio system namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
