import Testing
import Tensors

@Suite struct SmokeTests {
    @Test func zerosHaveShape() {
        let t = Tensor(zeros: [2, 3])
        #expect(t.floats == [0, 0, 0, 0, 0, 0])
    }
}
