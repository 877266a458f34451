// The communicator without MPI: launch detection, the single-process collectives, the errors.
// (Collectives between real ranks are tested end to end under mpirun in ddpmTests/MPITrainTests.)
import DDPMDistributed
import Testing

@Suite("communicator")
struct CommunicatorTests {
    @Test func launchIsDetectedByTheLaunchersVariables() {
        #expect(Communicator.launcherVariable(in: [:]) == nil)
        #expect(Communicator.launcherVariable(in: ["SLURM_NTASKS": "4", "PATH": "/bin"]) == nil)  // a batch script is not a rank
        #expect(Communicator.launcherVariable(in: ["OMPI_COMM_WORLD_SIZE": "2"]) == "OMPI_COMM_WORLD_SIZE")
        #expect(Communicator.launcherVariable(in: ["PMIX_RANK": "0"]) == "PMIX_RANK")
        #expect(Communicator.launcherVariable(in: ["PMI_RANK": "1"]) == "PMI_RANK")
    }

    @Test func withoutALauncherTheWorldIsOneProcessAndMPIIsNeverLoaded() throws {
        // DDPM_MPI_LIBRARY names no library: loading it would fail, so success shows it was not loaded.
        let world = try Communicator.world(environment: ["DDPM_MPI_LIBRARY": "/nonexistent/libmpi.so.40"])
        #expect(world.rank == 0 && world.size == 1 && world.isRoot)
        #expect(world.transport == .singleProcess)
    }

    @Test func aLaunchedProcessWithoutOpenMPIIsToldWhatToInstall() {
        #expect {
            _ = try Communicator.world(environment: ["OMPI_COMM_WORLD_SIZE": "2", "DDPM_MPI_LIBRARY": "/nonexistent/libmpi.so.40"])
        } throws: { error in
            guard case DistributedError.libraryUnavailable(let text) = error else { return false }
            return text.contains("/nonexistent/libmpi.so.40") && text.contains("libopenmpi3") && text.contains("DDPM_MPI_LIBRARY")
        }
    }

    @Test func singleProcessCollectivesAreCopies() throws {
        let one = Communicator.singleProcess
        var floats: [Float] = [1, 2.5, -3]
        try one.allReduceSum(&floats)
        #expect(floats == [1, 2.5, -3])
        var doubles = [0.25, 7]
        try one.allReduceSum(&doubles)
        try one.allReduceMax(&doubles)
        #expect(doubles == [0.25, 7])
        var bytes: [UInt8] = [1, 2, 3]
        try one.broadcast(&bytes)
        #expect(bytes == [1, 2, 3])
        #expect(try one.allGather([9, 8]) == [[9, 8]])
        #expect(try one.allGather(UInt64(42)) == [42])
        #expect(try one.gather([1, 2] as [Float]) == [1, 2])
        try floats.withUnsafeMutableBufferPointer { buffer in
            let pending = try one.startAllReduceSum(buffer)
            #expect(try pending.test())
            try pending.wait()
        }
        try one.barrier()
        try one.finalize()
        #expect(throws: DistributedError.self) { try one.broadcast(&bytes, from: 1) }
    }

    @Test func agreeRethrowsTheRanksOwnErrorWhenAlone() throws {
        struct Unreadable: Error {}
        #expect(try Communicator.singleProcess.agree { 7 } == 7)
        #expect(throws: Unreadable.self) { try Communicator.singleProcess.agree { throw Unreadable() } }
    }

    @Test func errorsNameTheRanks() {
        let failed = DistributedError.rankFailed(failures: [.init(rank: 1, message: "--data: cannot read x")], size: 2)
        #expect(failed.description == "rank 1 of 2: --data: cannot read x")
        let same = DistributedError.rankFailed(failures: [.init(rank: 0, message: "m"), .init(rank: 1, message: "m")], size: 2)
        #expect(same.description == "every rank (2 of 2): m")
        let diverged = DistributedError.replicasDiverged(step: 7, ranks: [2], size: 4, detail: "checksum 1 on rank 2 vs 2 on rank 0")
        #expect(diverged.description.hasPrefix("after step 7 the model of rank 2 (of 4) differs from rank 0's"))
        #expect(
            DistributedError.callFailed(function: "MPI_Allreduce", rank: 3, code: 5, message: "x").description.hasPrefix(
                "rank 3: MPI_Allreduce failed"))
    }

    @Test func suggestedThreadsAreAtLeastOne() {
        #expect(Communicator.singleProcess.suggestedThreadCount >= 1)
    }
}
