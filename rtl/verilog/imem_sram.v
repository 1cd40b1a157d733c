// Behavioural SRAM model of the VLIW core's instruction memory.
//
// One bundle per row.  Combinational read (the core fetches and executes a
// bundle in the same cycle), one synchronous write port for the host.  At
// time 0 the rows are cleared and, when the simulator is given
// +IMEM=<file>, loaded with $readmemh (one bundle per line, hex): programs
// are loaded at run time, never baked into the Verilog.
module imem_sram #(
    parameter integer DEPTH = 262144,
    parameter integer WIDTH = 1472,
    parameter integer ADDR_BITS = 18
) (
    input  wire                 clk,
    input  wire                 we,
    input  wire [ADDR_BITS-1:0] waddr,
    input  wire [WIDTH-1:0]     wdata,
    input  wire [ADDR_BITS-1:0] raddr,
    output wire [WIDTH-1:0]     rdata
);
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [8*1024-1:0] imem_file;
    integer row;

    initial begin
        for (row = 0; row < DEPTH; row = row + 1)
            mem[row] = {WIDTH{1'b0}};
        if ($value$plusargs("IMEM=%s", imem_file))
            $readmemh(imem_file, mem);
    end

    always @(posedge clk)
        if (we)
            mem[waddr] <= wdata;

    assign rdata = (raddr < DEPTH) ? mem[raddr] : {WIDTH{1'b0}};
endmodule
