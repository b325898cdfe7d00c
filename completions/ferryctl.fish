# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ferryctl_global_optspecs
    string join \n c/kubeconfig= context= n/namespace= i/istioNamespace= local h/help V/version
end

function __fish_ferryctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ferryctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ferryctl_using_subcommand
    set -l cmd (__fish_ferryctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ferryctl -n "__fish_ferryctl_needs_command" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_needs_command" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_needs_command" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_needs_command" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_needs_command" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "analyze" -d 'Analyze Istio configuration and print validation messages'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "install" -d 'Applies an Istio manifest, installing or reconfiguring Istio on a cluster'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "apply" -d 'Applies an Istio manifest, installing or reconfiguring Istio on a cluster'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "upgrade" -d 'Upgrade Istio control plane in-place'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "uninstall" -d 'Uninstall Istio from a cluster'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "verify-install" -d 'Verifies Istio Installation Status'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "tag" -d 'Command group used to interact with revision tags'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "admin" -d 'Manage control plane (istiod) configuration'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "istiod" -d 'Manage control plane (istiod) configuration'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "manifest" -d 'Commands related to Istio manifests'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "profile" -d 'Commands related to Istio configuration profiles'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "discovery" -d 'Start Ferry\'s control plane: serve Envoy config over xDS from a config directory or a cluster'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "proxy" -d 'Start a Ferry proxy (sidecar or gateway) configured by the control plane over xDS'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "demo" -d 'Run bookinfo\'s reviews demo on the local mesh: install, sample apps, the seed\'s routing, traffic'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "sample-app" -d 'Run the sample HTTP service: reports its service and version, echoes the request'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "workload" -d 'Run workloads with their sidecars on the local mesh, registered the Istio way'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "proxy-config" -d 'Retrieve information about proxy configuration from Envoy'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "pc" -d 'Retrieve information about proxy configuration from Envoy'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "proxy-status" -d 'Retrieves the synchronization status of each Envoy in the mesh'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "ps" -d 'Retrieves the synchronization status of each Envoy in the mesh'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "kube-inject" -d 'Inject Istio sidecar into Kubernetes pod resources'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "create-remote-secret" -d 'Create a secret with credentials to allow Istio to access remote Kubernetes apiservers'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "version" -d 'Prints out build version information'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "x" -d 'Experimental commands that may be modified or deprecated'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "experimental" -d 'Experimental commands that may be modified or deprecated'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "completion" -d 'Generate the autocompletion script for the specified shell'
complete -c ferryctl -n "__fish_ferryctl_needs_command" -f -a "local" -d 'The local mesh\'s internal processes (started by install --local)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s k -l use-kube -d 'Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s o -l output -d 'Output format: one of log|json|yaml|sarif' -r -f -a "log\t''
json\t''
yaml\t''
sarif\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l failure-threshold -d 'The severity level of analysis at which to set a non-zero exit code. Valid values: [Info Warning Error]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l output-threshold -d 'The severity level of analysis at which to display messages. Valid values: [Info Warning Error]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s S -l suppress -d 'Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l meshConfigFile -d 'Overrides the mesh config values to use for analysis' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l analyzer -d 'Select specific analyzers to run, e.g. "gateway.SecretAnalyzer" (repeatable); unknown names select all' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l color -d 'Default true. Disable with \'=false\' or set $TERM to dumb (NO_COLOR also disables it)' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l timeout -d 'The duration to wait before failing' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l exclude-namespaces -d 'Skip these namespaces (comma-separated, repeatable)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s r -l revision -d 'Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s A -l all-namespaces -d 'Analyze all namespaces'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s L -l list-analyzers -d 'List the analyzers available to run. Suppresses normal execution'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s v -l verbose -d 'Enable verbose output'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l ignore-unknown -d 'Don\'t output files that could not be parsed, and don\'t fail because of them'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s R -l recursive -d '[Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand analyze" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s f -l filename -d 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s s -l set -d 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s r -l revision -d 'Target control plane revision for the command (a DNS-1123 label; default means none)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -l readiness-timeout -d 'Maximum time to wait for the installed components to be ready' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation. If set to true, the user is not prompted and a Yes response is assumed in all cases'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -l force -d 'Proceed even with validation errors'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -l dry-run -d 'Console/log output only, make no changes'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand install" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s f -l filename -d 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s s -l set -d 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s r -l revision -d 'Target control plane revision for the command (a DNS-1123 label; default means none)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -l readiness-timeout -d 'Maximum time to wait for the installed components to be ready' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation. If set to true, the user is not prompted and a Yes response is assumed in all cases'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -l force -d 'Proceed even with validation errors'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -l dry-run -d 'Console/log output only, make no changes'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand apply" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s f -l filename -d 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s s -l set -d 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s r -l revision -d 'Target control plane revision for the command (a DNS-1123 label; default means none)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -l readiness-timeout -d 'Maximum time to wait for the installed components to be ready' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation. If set to true, the user is not prompted and a Yes response is assumed in all cases'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -l force -d 'Proceed even with validation errors'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -l dry-run -d 'Console/log output only, make no changes'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s r -l revision -d 'Target control plane revision for the command' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -l purge -d 'Remove all Istio related sources for all versions'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -l dry-run -d 'Console/log output only, make no changes'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand uninstall" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s f -l filename -d 'Istio YAML installation file: the IstioOperator files the install used, overlaid left to right (Kubernetes target)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s s -l set -d 'An IstioOperator value the install used, as install\'s --set (Kubernetes target)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s r -l revision -d 'Control plane revision to verify (default: every installed one)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand verify-install" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "set" -d 'Create or modify revision tags'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "generate" -d 'Generate configuration for a revision tag to stdout'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "list" -d 'List existing revision tags'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "show" -d 'List existing revision tags'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "remove" -d 'Remove Istio control plane revision tag'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and not __fish_seen_subcommand_from set generate list show remove delete" -f -a "delete" -d 'Remove Istio control plane revision tag'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s r -l revision -d 'Control plane revision to reference from a given revision tag' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -l webhook-name -d 'Name to use for a revision tag\'s mutating webhook configuration' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -l overwrite -d 'If true, allow revision tags to be overwritten, otherwise reject revision tag updates that overwrite existing revision tags'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation. If set to true, the user is not prompted and a Yes response is assumed in all cases'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -l auto-inject-namespaces -d 'If set to true, the sidecars should be automatically injected into all namespaces by default'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s r -l revision -d 'Control plane revision to reference from a given revision tag' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -l webhook-name -d 'Name to use for a revision tag\'s mutating webhook configuration' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -l overwrite -d 'If true, allow revision tags to be overwritten, otherwise reject revision tag updates that overwrite existing revision tags'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation; generate never prompts, and with this flag does not report webhook conflicts either'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -l auto-inject-namespaces -d 'If set to true, the sidecars should be automatically injected into all namespaces by default (the default tag only)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from generate" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format for tag description (available formats: table,json,yaml)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format for tag description (available formats: table,json,yaml)' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s y -l skip-confirmation -d 'The skipConfirmation determines whether the user is prompted for confirmation'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand tag; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -f -a "log" -d 'Manage istiod logging'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and not __fish_seen_subcommand_from log l" -f -a "l" -d 'Manage istiod logging'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s r -l revision -d 'Control plane revision' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l level -d 'Comma-separated list of output logging level for scopes in the format of <scope>:<level>[,<scope>:<level>,...]. Possible values for <level>: none, error, warn, info, debug' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l stack-trace-level -d 'Comma-separated list of stack trace level for scopes in the format of <scope>:<stack-trace-level>[,...]. Ferry captures no stack traces: only none is accepted' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l ctrlz_port -d 'ControlZ port (on a cluster; Ferry\'s control plane serves ControlZ on its monitoring port)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l reset -d 'Reset all levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l log-reset -d 'Reset log levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l stack-trace-reset -d 'Reset stack stace levels to default value. (none)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s r -l revision -d 'Control plane revision' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l level -d 'Comma-separated list of output logging level for scopes in the format of <scope>:<level>[,<scope>:<level>,...]. Possible values for <level>: none, error, warn, info, debug' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l stack-trace-level -d 'Comma-separated list of stack trace level for scopes in the format of <scope>:<stack-trace-level>[,...]. Ferry captures no stack traces: only none is accepted' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l ctrlz_port -d 'ControlZ port (on a cluster; Ferry\'s control plane serves ControlZ on its monitoring port)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l reset -d 'Reset all levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l log-reset -d 'Reset log levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l stack-trace-reset -d 'Reset stack stace levels to default value. (none)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand admin; and __fish_seen_subcommand_from l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -f -a "log" -d 'Manage istiod logging'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and not __fish_seen_subcommand_from log l" -f -a "l" -d 'Manage istiod logging'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s r -l revision -d 'Control plane revision' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l level -d 'Comma-separated list of output logging level for scopes in the format of <scope>:<level>[,<scope>:<level>,...]. Possible values for <level>: none, error, warn, info, debug' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l stack-trace-level -d 'Comma-separated list of stack trace level for scopes in the format of <scope>:<stack-trace-level>[,...]. Ferry captures no stack traces: only none is accepted' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l ctrlz_port -d 'ControlZ port (on a cluster; Ferry\'s control plane serves ControlZ on its monitoring port)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l reset -d 'Reset all levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l log-reset -d 'Reset log levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l stack-trace-reset -d 'Reset stack stace levels to default value. (none)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s r -l revision -d 'Control plane revision' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l level -d 'Comma-separated list of output logging level for scopes in the format of <scope>:<level>[,<scope>:<level>,...]. Possible values for <level>: none, error, warn, info, debug' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l stack-trace-level -d 'Comma-separated list of stack trace level for scopes in the format of <scope>:<stack-trace-level>[,...]. Ferry captures no stack traces: only none is accepted' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l ctrlz_port -d 'ControlZ port (on a cluster; Ferry\'s control plane serves ControlZ on its monitoring port)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s l -l selector -d 'label selector of the control plane pods (on a cluster)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l reset -d 'Reset all levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l log-reset -d 'Reset log levels to default value. (info)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l stack-trace-reset -d 'Reset stack stace levels to default value. (none)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand istiod; and __fish_seen_subcommand_from l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -f -a "generate" -d 'Generates an Istio install manifest'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and not __fish_seen_subcommand_from generate diff" -f -a "diff" -d 'Compare manifests and generate diff'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s f -l filename -d 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s s -l set -d 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s r -l revision -d 'Target control plane revision for the command (a DNS-1123 label; default means none)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s o -l output -d 'Manifest output directory path: one file per component instead of standard output' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -l force -d 'Proceed even with validation errors: unknown fields and bad values are dropped with a warning'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from generate" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -l select -d 'Constrain the list of resources to compare to only the ones in this list, ignoring all others. Comma-separated "Kind:namespace:name" items where "*" (or an empty part) matches anything, e.g. "Deployment:istio-system:*" (all Deployments in istio-system) or "Service:*:istiod" (Services called istiod in all namespaces)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -l ignore -d 'Ignore all listed items during comparison, using the same list format as --select; a fourth part ignores a field path inside the matching objects, e.g. "Deployment:*:*:metadata.labels*"' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -l rename -d 'Rename resources of A before comparison: comma-separated A->B pairs, e.g. "Service:*:istiod->Service:*:istio-control" (rename the istiod Service to istio-control)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s r -l directory -d 'Compare directory'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'Verbose output'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand manifest; and __fish_seen_subcommand_from diff" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -f -a "list" -d 'Lists available Istio configuration profiles'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -f -a "dump" -d 'Dumps an Istio configuration profile'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and not __fish_seen_subcommand_from list dump diff" -f -a "diff" -d 'Diffs two Istio configuration profiles'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: one of json|yaml (default: istioctl\'s list)' -r -f -a "json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s f -l filename -d 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s s -l set -d 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s p -l config-path -d 'The path the root of the configuration subtree to dump e.g. components.pilot. By default, dump whole tree' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s o -l output -d 'Output format: one of json|yaml|flags' -r -f -a "json\t''
yaml\t''
flags\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -l force -d 'Proceed even with validation errors: unknown fields and bad values are dropped with a warning'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from dump" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s d -l manifests -d 'Not supported: Ferry\'s profiles and manifests are built into ferryctl' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand profile; and __fish_seen_subcommand_from diff" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l config-dir -d 'Directory of Istio and Kubernetes YAML, read recursively and watched for changes. Without it, config is watched on the cluster of --kubeconfig/--context (or in-cluster)' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l grpcAddr -d 'Discovery service gRPC address (plain text); ":PORT" listens on all interfaces' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l monitoringAddr -d 'HTTP address for the debug endpoints (/debug/syncz, /debug/configz, /ready, ...); ":PORT" listens on all interfaces' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l clusterID -d 'The ID of the cluster that this control plane resides in: the cluster of the endpoints it reads from its own API server; remote secrets naming it are ignored' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l keepaliveInterval -d 'gRPC keepalive interval: how often an idle proxy connection is probed' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l keepaliveTimeout -d 'gRPC keepalive timeout: how long a probe may go unanswered' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l keepaliveMaxServerConnectionAge -d 'Maximum age of a proxy\'s gRPC connection: after it the proxy is asked to reconnect, which spreads proxies over control plane replicas (default: no limit)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l domain -d 'DNS domain suffix' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l meshConfig -d 'File name for Istio mesh configuration (rootNamespace, connectTimeout, dnsRefreshRate, outboundTrafficPolicy, accessLogFile, accessLogEncoding, accessLogFormat, enableTracing and defaultConfig.tracing.sampling are used). If not specified, a default mesh will be used' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l log_output_level -d 'Comma-separated minimum per-scope logging level of messages to output, in the form of <scope>:<level>,<scope>:<level>,... where scope can be one of [default, ads] and level can be one of [debug, info, warn, error, none]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l httpsAddr -d 'HTTPS address of the sidecar-injection webhook (/inject); served when --tlsCertFile and --tlsKeyFile are given; ":PORT" listens on all interfaces' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l tlsCertFile -d 'File containing the x509 certificate (PEM, leaf first) the webhook serves' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l tlsKeyFile -d 'File containing the PEM private key of --tlsCertFile' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s r -l revision -d 'Control plane revision: selects the injector ConfigMap (istio-sidecar-injector-<rev>)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l injectConfigFile -d 'Injection configuration file (the injector ConfigMap\'s `config`), instead of the ConfigMap watched on the cluster' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l ca-dir -d 'Directory of the CA\'s files in Istio\'s `cacerts` layout (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); a self-signed root is generated and kept there when it holds none. Without it the self-signed root lasts as long as the process' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l token-dir -d 'Directory of the local mesh\'s workload tokens (<namespace>/<service account>, one token each): a proxy presenting one gets a certificate for that identity. Without it, on Kubernetes the proxies\' ServiceAccount tokens are checked with a TokenReview; with a config directory, no workload certificate is issued' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l workload-cert-ttl -d 'Lifetime of workload certificates when the proxy asks for none' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l max-workload-cert-ttl -d 'Longest lifetime of a workload certificate a proxy may ask for' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l valuesFile -d 'Injection values file (the injector ConfigMap\'s `values`), with --injectConfigFile' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand discovery" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l discovery-address -d 'Address of the control plane\'s xDS server (plaintext gRPC, istiod\'s 15010)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l pod-name -d 'Pod name (default: istio-ingressgateway for routers, the host name for sidecars)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l pod-namespace -d 'Pod namespace (default: istio-system for routers, default for sidecars)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l ip -d 'The workload\'s IP' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l labels -d 'Workload labels, key=value[,key=value] (default for routers: istio=ingressgateway,app=istio-ingressgateway)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l workload-name -d 'The workload (Deployment) the pod belongs to, as Istio\'s metrics name it (default: the pod name less a Deployment\'s pod-template-hash suffix)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l domain -d 'DNS domain suffix' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l admin-address -d 'Address of Envoy\'s admin API' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l interception-mode -d 'How traffic reaches a sidecar: NONE (Ferry\'s default: no iptables, outbound listeners bind their ports) or REDIRECT/TPROXY (captured by iptables set up outside Ferry)' -r -f -a "NONE\t''
REDIRECT\t''
TPROXY\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l concurrency -d 'Worker threads (Envoy\'s --concurrency)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l proxyLogLevel -d 'Log level: trace, debug, info, warning, error, critical, off (Envoy\'s --proxyLogLevel)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l proxyComponentLogLevel -d 'Per-logger levels over --proxyLogLevel, <logger>:<level>[,...] with Envoy\'s logger names (Istio\'s --proxyComponentLogLevel, e.g. misc:error,router:debug)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l socket-path -d 'Unix socket for hot restart (Envoy\'s --socket-path): a proxy started with the path of a running one takes over its listening sockets, and that one drains and exits once this one is ready, so a restart drops no connection' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l drain-time-s -d 'Seconds connections get to finish when the proxy stops or hands over, or when LDS removes their listener (Envoy\'s --drain-time-s; the default is Istio\'s terminationDrainDuration)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l request-headers-timeout -d 'Time a client has to send a request\'s headers, from its first byte (from the connection\'s start for the first request); a slower one gets 408 and is disconnected (Envoy\'s request_headers_timeout, on by default here against slow-header attacks)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l status-port -d 'Port of the status server (Istio\'s agent --statusPort, 15020), on every address: readiness on /healthz/ready, and the application\'s probes that injection rewrote to /app-health/<container>/livez|readyz|startupz, run against the application as the kubelet would have. Off when unset; 0 picks a free port' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l readiness-port -d 'Port serving only /healthz/ready, on every address (Envoy\'s health listener in Istio\'s proxies, 15021, which the rendered readiness probes name). Off when unset; 0 picks a free port' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l app-probers -d 'The application\'s original probes by path, as JSON (Istio\'s ISTIO_KUBE_APP_PROBERS, which injection sets)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l proxy-config -d 'The workload\'s ProxyConfig, as JSON or YAML (Istio\'s PROXY_CONFIG, which injection sets from the mesh\'s defaultConfig and the pod\'s proxy.istio.io/config); the control plane reads its proxyHeaders' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l token-file -d 'File holding the workload\'s token, presented to the CA for a certificate (the local mesh writes one per service account). Without it the proxy gets no certificate, so it neither originates nor accepts Istio mTLS' -r -F
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l ca-address -d 'Address of the CA\'s gRPC service (Istio\'s CA_ADDR); default: --discovery-address' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l secret-ttl -d 'Lifetime of the workload certificate asked for (Istio\'s SECRET_TTL)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l secret-grace-period-ratio -d 'Fraction of the certificate\'s lifetime left when it is renewed (Istio\'s SECRET_GRACE_PERIOD_RATIO): 0.5 renews half-way through' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -l requests -d 'Requests to send for the weighted split' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand demo" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -l service -d 'The service name the app reports' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -l version -d 'The version the app reports' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -l listen -d 'Address to listen on (port 0: any free port, printed on stderr)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand sample-app" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -f -a "run" -d 'Run an application with its sidecar on the local mesh, registered by WorkloadEntry, ServiceEntry and Sidecar until it exits'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and not __fish_seen_subcommand_from run restart" -f -a "restart" -d 'Restart a workload\'s sidecar without dropping a request, optionally on another control plane revision'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l name -d 'Name of the workload: its WorkloadEntry, Sidecar and proxy (a DNS-1123 label)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l service -d 'The service it is an instance of: <service>.<namespace>.svc.cluster.local, whose ServiceEntry selects app=<service>' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l port -d 'A port the workload serves, <number>[:<name>]; the name\'s prefix gives the protocol as Istio\'s port names do (http, http2, grpc, tcp-…; default http). Repeatable' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s l -l labels -d 'Workload labels, key=value[,key=value] (app=<service> is added)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l service-account -d 'The workload\'s service account' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s r -l revision -d 'Control plane revision for the sidecar (istio.io/rev; default: the default revision)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s r -l revision -d 'Control plane revision or revision tag to move the workload to (default: the one it is on, re-resolved: a tag may point elsewhere now)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -l timeout -d 'How long to wait for the new sidecar to be ready' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand workload; and __fish_seen_subcommand_from restart" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "cluster" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "clusters" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "c" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "all" -d 'Retrieves all configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "a" -d 'Retrieves all configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "listener" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "listeners" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "l" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "log" -d 'Retrieves logging levels of the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "o" -d 'Retrieves logging levels of the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "route" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "routes" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "r" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "bootstrap" -d 'Retrieves bootstrap configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "b" -d 'Retrieves bootstrap configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "endpoint" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "endpoints" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ep" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "eds" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "secret" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "secrets" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "s" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ecds" -d 'Retrieves typed extension configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ec" -d 'Retrieves typed extension configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "rootca-compare" -d 'Compare ROOTCA values for the two given pods'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "rc" -d 'Compare ROOTCA values for the two given pods'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from cluster" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from clusters" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from c" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l port -d 'Filter clusters and listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l name -d 'Filter routes by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l with-headers -d 'Print a header before each section of the summary'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from all" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l port -d 'Filter clusters and listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l name -d 'Filter routes by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l with-headers -d 'Print a header before each section of the summary'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from a" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listener" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from listeners" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -l level -d 'Comma-separated minimum per-logger level of messages to output, in the form of [<logger>:]<level>,[<logger>:]<level>,... or <level> to change all active loggers, where logger components can be listed by running "ferryctl proxy-config log <pod-name[.namespace]>", and level can be one of [trace, debug, info, warning, error, critical, off]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s l -l selector -d 'Label selector' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s r -l reset -d 'Reset levels to default value (warning)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -l level -d 'Comma-separated minimum per-logger level of messages to output, in the form of [<logger>:]<level>,[<logger>:]<level>,... or <level> to change all active loggers, where logger components can be listed by running "ferryctl proxy-config log <pod-name[.namespace]>", and level can be one of [trace, debug, info, warning, error, critical, off]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s l -l selector -d 'Label selector' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s r -l reset -d 'Reset levels to default value (warning)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from o" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from route" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from routes" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from r" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from bootstrap" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from b" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoint" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from endpoints" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ep" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from eds" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secret" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from secrets" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from s" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ecds" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from ec" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rootca-compare" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-config; and __fish_seen_subcommand_from rc" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "cluster" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "clusters" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "c" -d 'Retrieves cluster configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "all" -d 'Retrieves all configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "a" -d 'Retrieves all configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "listener" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "listeners" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "l" -d 'Retrieves listener configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "log" -d 'Retrieves logging levels of the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "o" -d 'Retrieves logging levels of the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "route" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "routes" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "r" -d 'Retrieves route configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "bootstrap" -d 'Retrieves bootstrap configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "b" -d 'Retrieves bootstrap configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "endpoint" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "endpoints" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ep" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "eds" -d 'Retrieves endpoint configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "secret" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "secrets" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "s" -d 'Retrieves secret configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ecds" -d 'Retrieves typed extension configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "ec" -d 'Retrieves typed extension configuration for the Envoy in the specified pod'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "rootca-compare" -d 'Compare ROOTCA values for the two given pods'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and not __fish_seen_subcommand_from cluster clusters c all a listener listeners l log o route routes r bootstrap b endpoint endpoints ep eds secret secrets s ecds ec rootca-compare rc" -f -a "rc" -d 'Compare ROOTCA values for the two given pods'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from cluster" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from clusters" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l port -d 'Filter clusters by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from c" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l port -d 'Filter clusters and listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l name -d 'Filter routes by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l with-headers -d 'Print a header before each section of the summary'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from all" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l fqdn -d 'Filter clusters by substring of Service FQDN field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l direction -d 'Filter clusters by Direction field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l subset -d 'Filter clusters by substring of Subset field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l port -d 'Filter clusters and listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l name -d 'Filter routes by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l with-headers -d 'Print a header before each section of the summary'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from a" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listener" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from listeners" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l address -d 'Filter listeners by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l type -d 'Filter listeners by type field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l port -d 'Filter listeners by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from l" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -l level -d 'Comma-separated minimum per-logger level of messages to output, in the form of [<logger>:]<level>,[<logger>:]<level>,... or <level> to change all active loggers, where logger components can be listed by running "ferryctl proxy-config log <pod-name[.namespace]>", and level can be one of [trace, debug, info, warning, error, critical, off]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s l -l selector -d 'Label selector' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s r -l reset -d 'Reset levels to default value (warning)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -l level -d 'Comma-separated minimum per-logger level of messages to output, in the form of [<logger>:]<level>,[<logger>:]<level>,... or <level> to change all active loggers, where logger components can be listed by running "ferryctl proxy-config log <pod-name[.namespace]>", and level can be one of [trace, debug, info, warning, error, critical, off]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s l -l selector -d 'Label selector' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s r -l reset -d 'Reset levels to default value (warning)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from o" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from route" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from routes" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -l name -d 'Filter listeners by route name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -l verbose -d 'Output more information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from r" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from bootstrap" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from b" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoint" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from endpoints" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ep" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l address -d 'Filter endpoints by address field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l port -d 'Filter endpoints by Port field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l cluster -d 'Filter endpoints by cluster name field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l status -d 'Filter endpoints by status field' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from eds" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secret" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from secrets" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from s" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ecds" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s o -l output -d 'Output format: one of json|yaml|short' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from ec" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rootca-compare" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand pc; and __fish_seen_subcommand_from rc" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s r -l revision -d 'Control plane revision to target (all running ones by default)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l xds-address -d 'XDS Endpoint (host:port of a control plane\'s plain-text ADS)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l cert-dir -d 'XDS Endpoint certificate directory' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l xds-label -d 'Istiod pod label selector (default app=istiod)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l xds-port -d 'Istiod pod port (istioctl\'s xDS port; Ferry asks istiod pods over their monitoring port 15014, which serves the same answers over HTTP)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l timeout -d 'The duration to wait before failing' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l authority -d 'XDS Subject Alternative Name (for example istiod.istio-system.svc)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s o -l output -d 'Output format: one of table|json|yaml' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s v -l verbosity -d 'Verbosity level: 0 (subscribed types) or 1 (a column per type)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l insecure -d 'Skip server certificate and domain verification. (NOT SECURE!)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l plaintext -d 'Use plain-text HTTP/2 when connecting to server (no TLS)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand proxy-status" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s r -l revision -d 'Control plane revision to target (all running ones by default)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l xds-address -d 'XDS Endpoint (host:port of a control plane\'s plain-text ADS)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l cert-dir -d 'XDS Endpoint certificate directory' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l xds-label -d 'Istiod pod label selector (default app=istiod)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l xds-port -d 'Istiod pod port (istioctl\'s xDS port; Ferry asks istiod pods over their monitoring port 15014, which serves the same answers over HTTP)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l timeout -d 'The duration to wait before failing' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l authority -d 'XDS Subject Alternative Name (for example istiod.istio-system.svc)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s f -l file -d 'Envoy config dump JSON file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l proxy-admin-port -d 'Envoy proxy admin port (on a cluster: the pod\'s port to forward, default 15000; on the local mesh: replaces the port of the registered admin address)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s o -l output -d 'Output format: one of table|json|yaml' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s v -l verbosity -d 'Verbosity level: 0 (subscribed types) or 1 (a column per type)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l insecure -d 'Skip server certificate and domain verification. (NOT SECURE!)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l plaintext -d 'Use plain-text HTTP/2 when connecting to server (no TLS)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand ps" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s f -l filename -d 'Input Kubernetes resource filename' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s o -l output -d 'Modified output Kubernetes resource filename' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l meshConfigFile -d 'Mesh configuration filename. Takes precedence over --meshConfigMapName if set' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l injectConfigFile -d 'Injection configuration filename. Cannot be used with --injectConfigMapName' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l valuesFile -d 'Injection values configuration filename' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l operatorFileName -d 'Path to file containing IstioOperator custom resources. If configs from files like meshConfigFile, valuesFile are provided, they will be overridden by iop config values' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l meshConfigMapName -d 'ConfigMap name for Istio mesh configuration, key should be "mesh"' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l injectConfigMapName -d 'ConfigMap name for Istio sidecar injection, key should be "config"' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s r -l revision -d 'Control plane revision' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand kube-inject" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l name -d 'Name of the local cluster whose credentials are stored in the secret. Must be DNS label-compliant (default: the UID of the cluster\'s kube-system namespace)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l type -d 'Type of the generated secret: remote (a cluster the control plane discovers) or config (the config cluster of an external control plane)' -r -f -a "remote\t'A remote cluster whose services and endpoints the control plane discovers'
config\t'The config cluster of an external control plane'"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l service-account -d 'Create a secret with this service account\'s credentials (default: istio-reader-service-account, or istiod for --type=config)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l create-service-account -d 'Create the service account and its read-only ClusterRole and ClusterRoleBinding when needed (use --create-service-account=false to use an existing account as it is)' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l server -d 'The address and port of the Kubernetes API server, as the control plane reaches it (default: the server of the kubeconfig)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l tls-server-name -d 'The server name to verify the API server\'s certificate against, when it is not the host of --server' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l secret-name -d 'Take the token from this kubernetes.io/service-account-token Secret of the service account (a long-lived token an admin created) instead of requesting one' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l token-lifetime -d 'How long the requested token is valid (at least 10m). The API server may grant less (--service-account-max-token-expiration); the expiry it grants is printed on stderr' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand create-remote-secret" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s s -l short -d 'Use --short=false to generate full version information' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s o -l output -d 'One of \'yaml\' or \'json\'' -r -f -a "json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -l remote -d 'Use --remote=false to suppress control plane and data plane check' -r -f -a "true\t''
false\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand version" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and not __fish_seen_subcommand_from precheck" -f -a "precheck" -d 'Check whether Istio can safely be installed or upgraded'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -l output-threshold -d 'The severity level of precheck at which to display messages. Valid values: [Info Warning Error]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s o -l output -d 'Output format: one of log|json|yaml' -r -f -a "log\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s r -l revision -d 'Control plane revision about to be installed' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -l skip-controlplane -d 'skip checking the control plane'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand x; and __fish_seen_subcommand_from precheck" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and not __fish_seen_subcommand_from precheck" -f -a "precheck" -d 'Check whether Istio can safely be installed or upgraded'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -l output-threshold -d 'The severity level of precheck at which to display messages. Valid values: [Info Warning Error]' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s o -l output -d 'Output format: one of log|json|yaml' -r -f -a "log\t''
json\t''
yaml\t''"
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s r -l revision -d 'Control plane revision about to be installed' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -l skip-controlplane -d 'skip checking the control plane'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand experimental; and __fish_seen_subcommand_from precheck" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand completion" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -s V -l version -d 'Print version'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and not __fish_seen_subcommand_from supervise" -f -a "supervise" -d 'Run and watch over one revision\'s control plane and gateways (started by install)'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -l revision -d 'The revision to supervise (`default` for none)' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -s c -l kubeconfig -d 'Kubernetes configuration file' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -l context -d 'Kubernetes configuration context' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -s n -l namespace -d 'Kubernetes namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -s i -l istioNamespace -d 'Istio system namespace' -r
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -l local -d 'Use the local mesh on this machine instead of a Kubernetes cluster'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -s h -l help -d 'Print help'
complete -c ferryctl -n "__fish_ferryctl_using_subcommand local; and __fish_seen_subcommand_from supervise" -s V -l version -d 'Print version'
