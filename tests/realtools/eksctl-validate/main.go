// eksctl-validate loads a ClusterConfig file exactly as eksctl does before its first AWS call and prints
// eksctl's own error. It is a test oracle for fargate-composer, built by tests/realtools/build.sh inside
// a copy of eksctl's module source (so eksctl's go.mod, with its pinned Kubernetes modules, applies).
//
//	eksctl-validate [-for create-cluster|create-nodegroup|create-fargateprofile] [-versions 1.31,1.32] FILE...
//
// Each file is loaded afresh; for each it prints "FILE: ok" or "FILE: Error: <eksctl's message>".
// Exit status: 0 all accepted, 1 any rejected, 2 bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/kris-nova/logger"
	"github.com/spf13/cobra"

	"github.com/weaveworks/eksctl/pkg/accessentry"
	api "github.com/weaveworks/eksctl/pkg/apis/eksctl.io/v1alpha5"
	"github.com/weaveworks/eksctl/pkg/awsapi"
	"github.com/weaveworks/eksctl/pkg/ctl/cmdutils"
	"github.com/weaveworks/eksctl/pkg/ctl/cmdutils/filter"
	"github.com/weaveworks/eksctl/pkg/eks"
	"github.com/weaveworks/eksctl/pkg/fargate"
)

// versionsOnly answers the one EKS call that eksctl makes before validating (DescribeClusterVersions)
// with the versions given on the command line; any other call would panic, which is the point.
type versionsOnly struct {
	awsapi.EKS
	versions []string
}

func (v versionsOnly) DescribeClusterVersions(context.Context, *awseks.DescribeClusterVersionsInput,
	...func(*awseks.Options)) (*awseks.DescribeClusterVersionsOutput, error) {
	out := &awseks.DescribeClusterVersionsOutput{}
	for _, ver := range v.versions {
		out.ClusterVersions = append(out.ClusterVersions, ekstypes.ClusterVersionInformation{
			ClusterVersion: aws.String(ver),
			Status:         ekstypes.ClusterVersionStatusStandardSupport,
			DefaultVersion: ver == api.DefaultVersion,
		})
	}
	return out, nil
}

func newCmd(path string) *cmdutils.Cmd {
	return &cmdutils.Cmd{
		CobraCommand:      &cobra.Command{},
		ClusterConfigFile: path,
		ClusterConfig:     api.NewClusterConfig(),
		ProviderConfig:    api.ProviderConfig{WaitTimeout: api.DefaultWaitTimeout},
		Plan:              true,
		Validate:          true,
	}
}

// initialize does what Cmd.NewCtl does once the EKS client exists: resolve the version, then eksctl's
// defaulting and validation (InitializeClusterConfig).
func initialize(cmd *cmdutils.Cmd, versions []string) error {
	cvm, err := eks.NewClusterVersionsManager(versionsOnly{versions: versions})
	if err != nil {
		return err
	}
	version, err := cvm.ResolveClusterVersion(cmd.ClusterConfig.Metadata.Version)
	if err != nil {
		return fmt.Errorf("resolving cluster version: %w", err)
	}
	cmd.ClusterConfig.Metadata.Version = version
	return cmd.InitializeClusterConfig()
}

func createCluster(path string, versions []string) error {
	cmd := newCmd(path)
	params := &cmdutils.CreateClusterCmdParams{}
	if err := cmdutils.NewCreateClusterLoader(cmd, filter.NewNodeGroupFilter(), api.NewNodeGroup(), params).Load(); err != nil {
		return err
	}
	if err := initialize(cmd, versions); err != nil {
		return err
	}
	// The checks doCreateCluster runs before its first AWS call.
	cfg := cmd.ClusterConfig
	if cfg.Metadata.Name != "" && api.IsInvalidNameArg(cfg.Metadata.Name) {
		return api.ErrInvalidName(cfg.Metadata.Name)
	}
	if err := cfg.ValidatePrivateCluster(); err != nil {
		return err
	}
	if err := cfg.ValidateClusterEndpointConfig(); err != nil {
		return err
	}
	if err := accessentry.ValidateAPIServerAccess(cfg); err != nil {
		return err
	}
	for _, fp := range cfg.FargateProfiles {
		if err := fp.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func createNodegroup(path string, versions []string) error {
	cmd := newCmd(path)
	options := &cmdutils.NodeGroupOptions{}
	if err := cmdutils.NewCreateNodeGroupLoader(cmd, api.NewNodeGroup(), filter.NewNodeGroupFilter(), options).Load(); err != nil {
		return fmt.Errorf("couldn't create node group filter from command line options: %w", err)
	}
	return initialize(cmd, versions)
}

func createFargateProfile(path string, versions []string) error {
	cmd := newCmd(path)
	if err := cmdutils.NewCreateFargateProfileLoader(cmd, &fargate.CreateOptions{}).Load(); err != nil {
		return err
	}
	return initialize(cmd, versions)
}

func main() {
	mode := flag.String("for", "create-cluster", "the eksctl command whose loading to run: create-cluster, create-nodegroup or create-fargateprofile")
	versions := flag.String("versions", "1.29,1.30,1.31,1.32,1.33,1.34", "the Kubernetes versions EKS offers (DescribeClusterVersions)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: eksctl-validate [-for create-cluster|create-nodegroup|create-fargateprofile] [-versions LIST] FILE...")
		os.Exit(2)
	}
	logger.Writer = os.Stderr
	run := map[string]func(string, []string) error{
		"create-cluster":        createCluster,
		"create-nodegroup":      createNodegroup,
		"create-fargateprofile": createFargateProfile,
	}[*mode]
	if run == nil {
		fmt.Fprintf(os.Stderr, "eksctl-validate: unknown -for %q\n", *mode)
		os.Exit(2)
	}
	status := 0
	for _, path := range flag.Args() {
		if err := run(path, strings.Split(*versions, ",")); err != nil {
			fmt.Printf("%s: Error: %s\n", path, strings.ReplaceAll(err.Error(), "\n", " "))
			status = 1
		} else {
			fmt.Printf("%s: ok\n", path)
		}
	}
	os.Exit(status)
}
